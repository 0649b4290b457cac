"""Datasets at a backend, and which projects may use them.

A backend's runner registers a dataset (only its manifest leaves the site); a new manifest
is a new version, the old ones kept. A project asks to use a dataset with a purpose; a
Governance Reviewer, never the one who asked, approves (perhaps until a day) or rejects,
and may revoke. The transitions are data in `states.py`; every change is audited.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import schema
from .. import orm
from ..audit import record
from ..dataset_access import effective_state, usable
from ..deps import BackendDep, Caller, CallerDep, SessionDep, permission
from ..errors import ProblemError
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..states import advance
from ._common import backend_named, org_named, project_named
from .projects import visible_projects

router = APIRouter(tags=["datasets"])
runner_router = APIRouter(prefix="/runner", tags=["runner"])
RUNNER_ONLY = {"x-permission": "runner_token", "x-scope": "runner"}


def dataset_view(row: orm.Dataset) -> schema.Dataset:
    return schema.Dataset(
        name=row.name, backend=row.backend.slug, description=row.description,
        owner=row.owner.slug, status=row.status, created_at=row.created_at,
        versions=[schema.DatasetVersion(version=v.version, manifest=v.manifest, dummy=v.dummy,
                                        created_at=v.created_at) for v in row.versions],
    )  # fmt: skip


def access_view(row: orm.DatasetAccess) -> schema.AccessRequest:
    return schema.AccessRequest(
        id=row.id, project=row.project.slug, backend=row.dataset.backend.slug,
        dataset=row.dataset.name, purpose=row.purpose, versions=row.versions,
        state=effective_state(row), requested_by=row.requested_by.username,
        requested_at=row.requested_at,
        decided_by=row.decided_by.username if row.decided_by else None,
        decided_at=row.decided_at, reason=row.reason, until=row.until,
    )  # fmt: skip


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
        raise ProblemError(422, f"{what}: its sha256 is not the hash of its files: compute it "
                                "with schema.manifest_digest")  # fmt: skip


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
    row = session.scalar(select(orm.Dataset).where(orm.Dataset.backend_id == backend.id,
                                                   orm.Dataset.name == body.name))  # fmt: skip
    if row is None:
        row = orm.Dataset(backend_id=backend.id, name=body.name, description=body.description,
                          owner_id=owner.id)  # fmt: skip
        row.backend, row.owner = backend, owner
        session.add(row)
        session.flush()
        number, action = 1, "dataset.register"
    else:
        if row.status == "retired":
            raise ProblemError(409, f"the dataset {body.name} is retired: register the data "
                                    "under a new name")  # fmt: skip
        latest = row.versions[0]
        dummy = body.dummy.model_dump(mode="json") if body.dummy else None
        if latest.sha256 == body.manifest.sha256 and latest.dummy == dummy:
            if row.description != body.description:
                record(session, actor, "dataset.describe", row, {"description": row.description},
                       {"description": body.description})  # fmt: skip
                row.description = body.description
                session.commit()
            return dataset_view(row)
        number, action = latest.version + 1, "dataset.update"
        row.description = body.description
    version = orm.DatasetVersion(
        version=number, sha256=body.manifest.sha256,
        manifest=body.manifest.model_dump(mode="json"),
        dummy=body.dummy.model_dump(mode="json") if body.dummy else None,
    )  # fmt: skip
    row.versions.insert(0, version)  # saved with the dataset
    record(session, actor, action, row, after={"version": number, "sha256": version.sha256})
    session.commit()
    return dataset_view(row)


@runner_router.post("/datasets/{name}/retire", openapi_extra=RUNNER_ONLY)
def retire_dataset(name: str, backend: BackendDep, session: SessionDep) -> schema.Dataset:
    """No project may use it from now on; its versions and manifests stay on record."""
    row = _dataset(session, backend, name)
    if row.status != "retired":
        record(session, f"runner:{backend.slug}", "dataset.retire", row, {"status": row.status},
               {"status": "retired"})  # fmt: skip
        row.status = "retired"
        session.commit()
    return dataset_view(row)


@router.get("/datasets", openapi_extra=permission(P.SIGNED_IN))
def list_datasets(
    caller: CallerDep, session: SessionDep, backend: str | None = None,
    project: str | None = Query(None, description="Only those this project may use now."),
) -> list[schema.Dataset]:  # fmt: skip
    """Descriptions and manifests are for anyone signed in to find data by; using the data
    takes an approval."""
    query = select(orm.Dataset).order_by(orm.Dataset.name)
    if backend:
        query = query.where(orm.Dataset.backend_id == backend_named(session, backend).id)
    rows = session.scalars(query).all()
    if project:
        row = project_named(session, project)
        caller.require(P.PROJECT_VIEW, row)
        allowed = {(d.backend_id, d.name) for d in rows
                   if d.name in usable(session, row.id, d.backend_id)}  # fmt: skip
        rows = [d for d in rows if (d.backend_id, d.name) in allowed]
    return [dataset_view(d) for d in rows]


@router.get("/datasets/{backend}/{name}", openapi_extra=permission(P.SIGNED_IN))
def get_dataset(backend: str, name: str, caller: CallerDep, session: SessionDep) -> schema.Dataset:
    return dataset_view(_dataset(session, backend_named(session, backend), name))


@router.post("/dataset-access", status_code=201,
             openapi_extra=permission(P.DATASET_REQUEST, "project"))  # fmt: skip
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
            422, f"the dataset {dataset.name} has no version {', '.join(map(str, missing))}; "
            f"it has {sorted(known)}",
        )  # fmt: skip
    row = orm.DatasetAccess(project_id=project.id, dataset_id=dataset.id, purpose=body.purpose,
                            versions=body.versions, requested_by_id=caller.user.id)  # fmt: skip
    row.project, row.dataset, row.requested_by = project, dataset, caller.user
    session.add(row)
    session.flush()
    record(session, caller.name, "dataset_access.request", row,
           after={"project": project.slug, "dataset": dataset.name})  # fmt: skip
    session.commit()
    return access_view(row)


def _visible_access(caller: Caller, session: Session, access_id: str) -> orm.DatasetAccess:
    row = session.get(orm.DatasetAccess, access_id)
    if row is None:
        raise ProblemError(404, f"there is no dataset access request {access_id!r}")
    if not (caller.can(P.DATASET_DECIDE) or caller.can(P.PROJECT_VIEW, row.project)):
        raise ProblemError(403, f"{caller.name} may not see the requests of project "
                                f"{row.project.slug}")  # fmt: skip
    return row


@router.get("/dataset-access", openapi_extra=permission(P.SIGNED_IN))
def list_access(
    request: Request, caller: CallerDep, session: SessionDep, project: str | None = None,
    state: schema.AccessState | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT), cursor: str | None = None,
) -> schema.Page[schema.AccessRequest]:  # fmt: skip
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


def _decide(caller: Caller, session: Session, access_id: str, new: str,
            body: schema.AccessDecision) -> schema.AccessRequest:  # fmt: skip
    caller.require(P.DATASET_DECIDE)
    row = _visible_access(caller, session, access_id)
    if row.requested_by_id == caller.user.id:
        raise ProblemError(403, "you asked for this access, so you may not decide on it: ask "
                                "another Governance Reviewer")  # fmt: skip
    if body.until is not None and body.until < orm.utcnow().date():
        raise ProblemError(422, f"{body.until} has passed: give a day from today on")
    before = {"state": row.state}
    row.state = advance("dataset_access", row.state, new)
    row.decided_by_id, row.decided_at, row.reason = caller.user.id, orm.utcnow(), body.reason
    row.decided_by = caller.user
    if new == "approved":
        row.until = body.until
    record(session, caller.name, f"dataset_access.{new}", row, before,
           {"state": row.state, "reason": body.reason,
            "until": row.until.isoformat() if row.until else None})  # fmt: skip
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


@router.post("/dataset-access/{access_id}/withdraw",
             openapi_extra=permission(P.DATASET_REQUEST, "owner"))  # fmt: skip
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
