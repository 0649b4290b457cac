"""Datasets at a backend: registered and retired by its runner, found by anyone signed in,
and their dummy data.

A backend's runner registers a dataset (only its manifest leaves the site); a new manifest
is a new version, the old ones kept. Which projects may use one is `access_requests.py`'s.

Dummy data is the one part of a dataset whose bytes may leave its site: the runner sends
each file of a version's dummy data after registering it, refused unless the bytes hash to
the dummy manifest's sha256, and stored by that hash as released files are (the same content
once, never changed); anyone signed in may download them.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import AsyncIterable, Callable
from pathlib import Path, PurePosixPath

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ... import schema
from .. import orm
from ..audit import record
from ..callers import Caller
from ..dataset_access import usable
from ..errors import ProblemError
from ..permissions import Permission as P
from ..release_store import stored_path
from .lookup import backend_named, org_named, project_named


def dataset_at(session: Session, backend: orm.Backend, name: str) -> orm.Dataset:
    row = session.scalar(
        select(orm.Dataset).where(orm.Dataset.backend_id == backend.id, orm.Dataset.name == name)
    )
    if row is None:
        raise ProblemError(404, f"the backend {backend.slug} has no dataset {name!r}")
    return row


def dataset_named(session: Session, backend: str, name: str) -> orm.Dataset:
    """A dataset by its backend's slug and its name, or a 404."""
    return dataset_at(session, backend_named(session, backend), name)


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


def register_dataset(
    session: Session, backend: orm.Backend, body: schema.DatasetRegistration
) -> orm.Dataset:
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
            return row
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
    return row


def retire_dataset(session: Session, backend: orm.Backend, name: str) -> orm.Dataset:
    """No project may use it from now on; its versions and manifests stay on record."""
    row = dataset_at(session, backend, name)
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
    return row


def list_datasets(
    session: Session, caller: Caller, backend: str | None = None, project: str | None = None
) -> list[orm.Dataset]:
    """Every dataset (of a backend); with `project`, only those it may use now (if the caller
    may view the project). Descriptions and manifests are for anyone signed in to find data
    by; using the data takes an approval."""
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
    return list(rows)


# -- dummy data ------------------------------------------------------------------------------


def dummy_dir(release_dir: str) -> Path:
    return Path(release_dir) / "dummy"


def dummy_file(row: orm.Dataset, version: int | None, path: str) -> schema.ManifestFile:
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


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


async def receive_dummy(
    factory: sessionmaker,
    find_backend: Callable[[Session], orm.Backend],
    name: str,
    version: int,
    path: str,
    chunks: AsyncIterable[bytes],
    release_dir: str,
) -> None:
    """A file of a version's dummy data, streamed; refused unless its bytes hash to the dummy
    manifest's sha256. Stored by that hash: a repeat reads nothing and changes nothing.

    Each database step has a short session of its own (`find_backend` says whose runner
    sends), so none is held while the bytes come.
    """

    def expected() -> schema.ManifestFile:
        with factory() as session:
            row = dataset_at(session, find_backend(session), name)
            if row.status != "active":
                raise ProblemError(409, f"the dataset {name} is retired: its dummy data is closed")
            return dummy_file(row, version, path)

    def recorded(entry: schema.ManifestFile) -> None:
        with factory() as session:
            backend = find_backend(session)
            record(
                session,
                f"runner:{backend.slug}",
                "dataset.dummy_upload",
                dataset_at(session, backend, name),
                after={"version": version, "path": entry.path, "sha256": entry.sha256},
            )
            session.commit()

    entry = await run_in_threadpool(expected)
    folder = dummy_dir(release_dir)
    target = stored_path(str(folder), entry.sha256)
    if target.is_file():
        return
    partial = folder / "partial" / f"{entry.sha256}.{secrets.token_hex(6)}"
    partial.parent.mkdir(parents=True, exist_ok=True)
    received = 0
    try:
        with partial.open("wb") as part:
            async for chunk in chunks:
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
    finally:
        partial.unlink(missing_ok=True)
    await run_in_threadpool(recorded, entry)


def download_dummy(
    session: Session,
    caller: Caller,
    backend: str,
    name: str,
    path: str,
    version: int | None,
    release_dir: str,
) -> tuple[schema.ManifestFile, Path]:
    """A file of a dataset's dummy data (synthetic, made to leave the site) and where its
    bytes are, the download audited."""
    row = dataset_named(session, backend, name)
    entry = dummy_file(row, version, path)
    stored = stored_path(str(dummy_dir(release_dir)), entry.sha256)
    if not stored.is_file():
        raise ProblemError(
            409,
            f"the site of {backend} has not sent {path} of the dummy data of "
            f"{name} yet: ask its runner's administrator",
        )
    record(session, caller.name, "dataset.dummy_download", row, after={"path": entry.path})
    session.commit()
    return entry, stored
