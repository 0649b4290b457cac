"""Datasets at a backend, and which projects may use them.

A backend's runner registers a dataset (only its manifest leaves the site); a new manifest
is a new version, the old ones kept. A project asks to use a dataset with a purpose; a
Governance Reviewer, never the one who asked, approves (perhaps until a day) or rejects,
and may revoke. The transitions are data in `states.py`; every change is audited.

Dummy data is the one part of a dataset whose bytes may leave its site: the runner sends
each file of a version's dummy data after registering it, refused unless the bytes hash to
the dummy manifest's sha256, and stored by that hash as released files are (the same content
once, never changed); anyone signed in may download them, as an attachment never sniffed.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import secrets
from pathlib import Path, PurePosixPath

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect

from ... import schema
from .. import orm
from ..audit import record
from ..dataset_access import effective_state, usable
from ..deps import BackendDep, Caller, CallerDep, SessionDep, current_backend, permission
from ..errors import ProblemError
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..release_store import stored_path
from ..states import advance
from ._common import backend_named, org_named, project_named
from .projects import visible_projects

router = APIRouter(tags=["datasets"])
runner_router = APIRouter(prefix="/runner", tags=["runner"])
RUNNER_ONLY = {"x-permission": "runner_token", "x-scope": "runner"}


def dataset_view(row: orm.Dataset) -> schema.Dataset:
    return schema.Dataset(
        name=row.name,
        backend=row.backend.slug,
        description=row.description,
        owner=row.owner.slug,
        status=row.status,
        created_at=row.created_at,
        versions=[
            schema.DatasetVersion(
                version=v.version, manifest=v.manifest, dummy=v.dummy, created_at=v.created_at
            )
            for v in row.versions
        ],
    )


def access_view(row: orm.DatasetAccess) -> schema.AccessRequest:
    return schema.AccessRequest(
        id=row.id,
        project=row.project.slug,
        backend=row.dataset.backend.slug,
        dataset=row.dataset.name,
        purpose=row.purpose,
        versions=row.versions,
        state=effective_state(row),
        requested_by=row.requested_by.username,
        requested_at=row.requested_at,
        decided_by=row.decided_by.username if row.decided_by else None,
        decided_at=row.decided_at,
        reason=row.reason,
        until=row.until,
    )


def _dataset(session: Session, backend: orm.Backend, name: str) -> orm.Dataset:
    row = session.scalar(
        select(orm.Dataset).where(orm.Dataset.backend_id == backend.id, orm.Dataset.name == name)
    )
    if row is None:
        raise ProblemError(404, f"the backend {backend.slug} has no dataset {name!r}")
    return row


def _check_manifest(manifest: schema.Manifest, what: str) -> None:
    for f in manifest.files:
        parts = PurePosixPath(f.path).parts
        if f.path.startswith("/") or ".." in parts:
            raise ProblemError(422, f"{what}: {f.path!r} is not a path inside the dataset")
    if schema.manifest_digest(manifest.files) != manifest.sha256:
        raise ProblemError(
            422,
            f"{what}: its sha256 is not the hash of its files: compute it "
            "with schema.manifest_digest",
        )


@runner_router.post("/datasets", openapi_extra=RUNNER_ONLY)
def register_dataset(
    body: schema.DatasetRegistration, backend: BackendDep, session: SessionDep
) -> schema.Dataset:
    """A dataset of the runner's backend, or a new version of it when its manifest changed."""
    _check_manifest(body.manifest, "the manifest")
    if body.dummy is not None:
        _check_manifest(body.dummy, "the dummy data's manifest")
    owner = org_named(session, body.owner)
    actor = f"runner:{backend.slug}"
    row = session.scalar(
        select(orm.Dataset).where(
            orm.Dataset.backend_id == backend.id, orm.Dataset.name == body.name
        )
    )
    if row is None:
        row = orm.Dataset(
            backend_id=backend.id, name=body.name, description=body.description, owner_id=owner.id
        )
        row.backend, row.owner = backend, owner
        session.add(row)
        session.flush()
        number, action = 1, "dataset.register"
    else:
        if row.status == "retired":
            raise ProblemError(
                409, f"the dataset {body.name} is retired: register the data under a new name"
            )
        latest = row.versions[0]
        dummy = body.dummy.model_dump(mode="json") if body.dummy else None
        if latest.sha256 == body.manifest.sha256 and latest.dummy == dummy:
            if row.description != body.description:
                record(
                    session,
                    actor,
                    "dataset.describe",
                    row,
                    {"description": row.description},
                    {"description": body.description},
                )
                row.description = body.description
                session.commit()
            return dataset_view(row)
        number, action = latest.version + 1, "dataset.update"
        row.description = body.description
    version = orm.DatasetVersion(
        version=number,
        sha256=body.manifest.sha256,
        manifest=body.manifest.model_dump(mode="json"),
        dummy=body.dummy.model_dump(mode="json") if body.dummy else None,
    )
    row.versions.insert(0, version)  # saved with the dataset
    record(session, actor, action, row, after={"version": number, "sha256": version.sha256})
    session.commit()
    return dataset_view(row)


@runner_router.post("/datasets/{name}/retire", openapi_extra=RUNNER_ONLY)
def retire_dataset(name: str, backend: BackendDep, session: SessionDep) -> schema.Dataset:
    """No project may use it from now on; its versions and manifests stay on record."""
    row = _dataset(session, backend, name)
    if row.status != "retired":
        record(
            session,
            f"runner:{backend.slug}",
            "dataset.retire",
            row,
            {"status": row.status},
            {"status": "retired"},
        )
        row.status = "retired"
        session.commit()
    return dataset_view(row)


@router.get("/datasets", openapi_extra=permission(P.SIGNED_IN))
def list_datasets(
    caller: CallerDep,
    session: SessionDep,
    backend: str | None = None,
    project: str | None = Query(None, description="Only those this project may use now."),
) -> list[schema.Dataset]:
    """Descriptions and manifests are for anyone signed in to find data by; using the data
    takes an approval."""
    query = select(orm.Dataset).order_by(orm.Dataset.name)
    if backend:
        query = query.where(orm.Dataset.backend_id == backend_named(session, backend).id)
    rows = session.scalars(query).all()
    if project:
        row = project_named(session, project)
        caller.require(P.PROJECT_VIEW, row)
        allowed = {
            (d.backend_id, d.name) for d in rows if d.name in usable(session, row.id, d.backend_id)
        }
        rows = [d for d in rows if (d.backend_id, d.name) in allowed]
    return [dataset_view(d) for d in rows]


@router.get("/datasets/{backend}/{name}", openapi_extra=permission(P.SIGNED_IN))
def get_dataset(backend: str, name: str, caller: CallerDep, session: SessionDep) -> schema.Dataset:
    return dataset_view(_dataset(session, backend_named(session, backend), name))


@router.post(
    "/dataset-access", status_code=201, openapi_extra=permission(P.DATASET_REQUEST, "project")
)
def request_access(
    body: schema.AccessRequestCreate, caller: CallerDep, session: SessionDep
) -> schema.AccessRequest:
    project = project_named(session, body.project)
    caller.require(P.DATASET_REQUEST, project)
    dataset = _dataset(session, backend_named(session, body.backend), body.dataset)
    if dataset.status != "active":
        raise ProblemError(409, f"the dataset {dataset.name} is retired: no project may use it")
    known = {v.version for v in dataset.versions}
    if body.versions is not None and not set(body.versions) <= known:
        missing = sorted(set(body.versions) - known)
        raise ProblemError(
            422,
            f"the dataset {dataset.name} has no version {', '.join(map(str, missing))}; "
            f"it has {sorted(known)}",
        )
    row = orm.DatasetAccess(
        project_id=project.id,
        dataset_id=dataset.id,
        purpose=body.purpose,
        versions=body.versions,
        requested_by_id=caller.user.id,
    )
    row.project, row.dataset, row.requested_by = project, dataset, caller.user
    session.add(row)
    session.flush()
    record(
        session,
        caller.name,
        "dataset_access.request",
        row,
        after={"project": project.slug, "dataset": dataset.name},
    )
    session.commit()
    return access_view(row)


def _visible_access(caller: Caller, session: Session, access_id: str) -> orm.DatasetAccess:
    row = session.get(orm.DatasetAccess, access_id)
    if row is None:
        raise ProblemError(404, f"there is no dataset access request {access_id!r}")
    if not (caller.can(P.DATASET_DECIDE) or caller.can(P.PROJECT_VIEW, row.project)):
        raise ProblemError(
            403, f"{caller.name} may not see the requests of project {row.project.slug}"
        )
    return row


@router.get("/dataset-access", openapi_extra=permission(P.SIGNED_IN))
def list_access(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    project: str | None = None,
    state: schema.AccessState | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.AccessRequest]:
    """The requests of the projects one may see; every request for those who decide."""
    query = select(orm.DatasetAccess)
    if not caller.can(P.DATASET_DECIDE):
        projects = visible_projects(caller).with_only_columns(orm.Project.id)
        query = query.where(orm.DatasetAccess.project_id.in_(projects))
    if project:
        query = query.where(orm.DatasetAccess.project_id == project_named(session, project).id)
    if state and state != "expired":
        query = query.where(orm.DatasetAccess.state == state.value)
    if (before := decode_cursor(cursor, str)) is not None:
        query = query.where(orm.DatasetAccess.id < before)
    rows = session.scalars(query.order_by(orm.DatasetAccess.id.desc()).limit(limit + 1)).all()
    items, next_url = page(request, rows, limit, lambda r: r.id)
    views = [access_view(r) for r in items]
    if state:
        views = [v for v in views if v.state == state]
    return schema.Page(items=views, next=next_url)


@router.get("/dataset-access/{access_id}", openapi_extra=permission(P.PROJECT_VIEW, "project"))
def get_access(access_id: str, caller: CallerDep, session: SessionDep) -> schema.AccessRequest:
    return access_view(_visible_access(caller, session, access_id))


def _decide(
    caller: Caller, session: Session, access_id: str, new: str, body: schema.AccessDecision
) -> schema.AccessRequest:
    caller.require(P.DATASET_DECIDE)
    row = _visible_access(caller, session, access_id)
    if row.requested_by_id == caller.user.id:
        raise ProblemError(
            403,
            "you asked for this access, so you may not decide on it: ask "
            "another Governance Reviewer",
        )
    if body.until is not None and body.until < orm.utcnow().date():
        raise ProblemError(422, f"{body.until} has passed: give a day from today on")
    before = {"state": row.state}
    row.state = advance("dataset_access", row.state, new)
    row.decided_by_id, row.decided_at, row.reason = caller.user.id, orm.utcnow(), body.reason
    row.decided_by = caller.user
    if new == "approved":
        row.until = body.until
    record(
        session,
        caller.name,
        f"dataset_access.{new}",
        row,
        before,
        {
            "state": row.state,
            "reason": body.reason,
            "until": row.until.isoformat() if row.until else None,
        },
    )
    session.commit()
    return access_view(row)


@router.post("/dataset-access/{access_id}/approve", openapi_extra=permission(P.DATASET_DECIDE))
def approve_access(
    access_id: str, body: schema.AccessDecision, caller: CallerDep, session: SessionDep
) -> schema.AccessRequest:
    return _decide(caller, session, access_id, "approved", body)


@router.post("/dataset-access/{access_id}/reject", openapi_extra=permission(P.DATASET_DECIDE))
def reject_access(
    access_id: str, body: schema.AccessDecision, caller: CallerDep, session: SessionDep
) -> schema.AccessRequest:
    return _decide(caller, session, access_id, "rejected", body)


@router.post("/dataset-access/{access_id}/revoke", openapi_extra=permission(P.DATASET_DECIDE))
def revoke_access(
    access_id: str, body: schema.AccessDecision, caller: CallerDep, session: SessionDep
) -> schema.AccessRequest:
    """From now on the project's jobs cannot read it; jobs waiting for it will not start."""
    return _decide(caller, session, access_id, "revoked", body)


@router.post(
    "/dataset-access/{access_id}/withdraw", openapi_extra=permission(P.DATASET_REQUEST, "owner")
)
def withdraw_access(access_id: str, caller: CallerDep, session: SessionDep) -> schema.AccessRequest:
    row = _visible_access(caller, session, access_id)
    caller.require(P.DATASET_REQUEST, row.project)
    if row.requested_by_id != caller.user.id:
        raise ProblemError(403, f"only {row.requested_by.username}, who asked, may withdraw it")
    before = {"state": row.state}
    row.state = advance("dataset_access", row.state, "withdrawn")
    record(session, caller.name, "dataset_access.withdrawn", row, before, {"state": row.state})
    session.commit()
    return access_view(row)


# -- dummy data ------------------------------------------------------------------------------

ATTACHMENT = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}


def dummy_dir(request: Request) -> Path:
    return Path(request.app.state.settings.release_dir) / "dummy"


def _dummy_file(row: orm.Dataset, version: int | None, path: str) -> schema.ManifestFile:
    """The entry of `path` in the dummy manifest of `version` (the newest with dummy data)."""
    versions = [v for v in row.versions if version is None or v.version == version]
    if not versions:
        known = ", ".join(str(v.version) for v in row.versions)
        raise ProblemError(404, f"the dataset {row.name} has no version {version} (it has {known})")
    with_dummy = [v for v in versions if v.dummy is not None]
    if not with_dummy:
        which = f"version {version} of " if version is not None else ""
        raise ProblemError(404, f"{which}the dataset {row.name} has no dummy data")
    chosen = with_dummy[0]  # newest first
    dummy = schema.Manifest.model_validate(chosen.dummy)
    for entry in dummy.files:
        if entry.path == path:
            return entry
    names = ", ".join(f.path for f in dummy.files[:20])
    raise ProblemError(
        404,
        f"the dummy data of {row.name} (version {chosen.version}) has no "
        f"file {path!r}; it has {names}",
    )


def _expected(request: Request, name: str, version: int, path: str) -> schema.ManifestFile:
    """The runner's backend's dummy file: its size and sha256, from the registered manifest."""
    with request.app.state.sessionmaker() as session:
        backend = current_backend(request, session)
        row = _dataset(session, backend, name)
        if row.status != "active":
            raise ProblemError(409, f"the dataset {name} is retired: its dummy data is closed")
        return _dummy_file(row, version, path)


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _record_upload(request: Request, name: str, version: int, entry: schema.ManifestFile):
    with request.app.state.sessionmaker() as session:
        backend = current_backend(request, session)
        row = _dataset(session, backend, name)
        record(
            session,
            f"runner:{backend.slug}",
            "dataset.dummy_upload",
            row,
            after={"version": version, "path": entry.path, "sha256": entry.sha256},
        )
        session.commit()


@runner_router.put(
    "/datasets/{name}/versions/{version}/dummy/{path:path}",
    status_code=204,
    openapi_extra=RUNNER_ONLY,
)
async def upload_dummy(name: str, version: int, path: str, request: Request) -> Response:
    """A file of a version's dummy data, streamed; refused unless its bytes hash to the dummy
    manifest's sha256. Stored by that hash: a repeat reads nothing and changes nothing."""
    entry = await run_in_threadpool(_expected, request, name, version, path)
    target = stored_path(str(dummy_dir(request)), entry.sha256)
    if target.is_file():
        return Response(status_code=204)
    partial = dummy_dir(request) / "partial" / f"{entry.sha256}.{secrets.token_hex(6)}"
    partial.parent.mkdir(parents=True, exist_ok=True)
    received = 0
    try:
        with partial.open("wb") as part:
            async for chunk in request.stream():
                received += len(chunk)
                if received > entry.size:
                    break  # more than the manifest says: it cannot match
                part.write(chunk)
        digest = await run_in_threadpool(_sha256, partial) if received == entry.size else None
        if digest != entry.sha256:
            raise ProblemError(
                422,
                f"the bytes sent for {path} do not match the dummy data's manifest "
                f"({entry.size} bytes, sha256 {entry.sha256[:12]}…): the file changed after its "
                f"manifest was computed; run `jupyter ext runner dataset update {name}`",
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, target)
    except ClientDisconnect:
        return Response(status_code=400)
    finally:
        partial.unlink(missing_ok=True)
    await run_in_threadpool(_record_upload, request, name, version, entry)
    return Response(status_code=204)


@router.get("/datasets/{backend}/{name}/dummy/{path:path}", openapi_extra=permission(P.SIGNED_IN))
def download_dummy(
    backend: str,
    name: str,
    path: str,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    version: int | None = Query(
        None, description="A version; the newest with dummy data if absent."
    ),
):
    """A file of a dataset's dummy data (synthetic, made to leave the site), as an attachment."""
    row = _dataset(session, backend_named(session, backend), name)
    entry = _dummy_file(row, version, path)
    stored = stored_path(str(dummy_dir(request)), entry.sha256)
    if not stored.is_file():
        raise ProblemError(
            409,
            f"the site of {backend} has not sent {path} of the dummy data of "
            f"{name} yet: ask its runner's administrator",
        )
    record(session, caller.name, "dataset.dummy_download", row, after={"path": entry.path})
    session.commit()
    name_only = PurePosixPath(entry.path).name
    return FileResponse(
        stored,
        media_type=mimetypes.guess_type(name_only)[0] or "application/octet-stream",
        headers=ATTACHMENT,
        filename=name_only,
        content_disposition_type="attachment",
    )
