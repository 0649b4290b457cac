"""Which dataset versions a project's job may read: asked when a job request is planned
(refused before anything runs) and again when a runner takes the job (an approval revoked
or expired while it waited fails it, saying so)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import schema
from ..pipeline.datasets import USE
from . import orm


def effective_state(row: orm.DatasetAccess, today: dt.date | None = None) -> str:
    """An approval past its last day has expired: nothing is written, it is read so."""
    today = today or orm.utcnow().date()
    if row.state == "approved" and row.until is not None and row.until < today:
        return "expired"
    return row.state


def usable(session: Session, project_id: int, backend_id: int) -> dict[str, list[int] | None]:
    """The datasets of a backend a project may use now: name -> versions (None: all)."""
    rows = session.scalars(
        select(orm.DatasetAccess)
        .join(orm.Dataset)
        .where(
            orm.DatasetAccess.project_id == project_id,
            orm.Dataset.backend_id == backend_id,
            orm.DatasetAccess.state == "approved",
            orm.Dataset.status == "active",
        )
    ).all()
    allowed: dict[str, list[int] | None] = {}
    for row in rows:
        if effective_state(row) != "approved":
            continue
        name = row.dataset.name
        if row.versions is None or allowed.get(name, []) is None:
            allowed[name] = None
        else:
            allowed[name] = sorted(set(allowed.get(name) or []) | set(row.versions))
    return allowed


class NotAllowed(Exception):
    """A dataset the project may not read, said as what to do about it."""


def resolve(
    session: Session, project: orm.Project, backend: orm.Backend, uses: list[str]
) -> list[schema.LeasedDataset]:
    """Each use (`name` or `name@version`) as the version to read and its hash."""
    allowed = usable(session, project.id, backend.id) if uses else {}
    leased = []
    for use in uses:
        match = USE.match(use)
        name, wanted = match["name"], int(match["version"]) if match["version"] else None
        dataset = session.scalar(
            select(orm.Dataset).where(
                orm.Dataset.backend_id == backend.id, orm.Dataset.name == name
            )
        )
        if dataset is None:
            raise NotAllowed(
                f"the backend {backend.slug} has no dataset {name!r}: see "
                f"GET /api/v1/datasets?backend={backend.slug} for its datasets"
            )
        if name not in allowed:
            raise NotAllowed(
                f"the project {project.slug} may not use the dataset {name} on {backend.slug}: "
                "ask for it (POST /api/v1/dataset-access, or client.datasets.request) and wait "
                "for a Governance Reviewer to approve"
            )
        versions = allowed[name]
        known = {v.version: v for v in dataset.versions}
        version = wanted or (max(versions) if versions else max(known))
        if version not in known or (versions is not None and version not in versions):
            raise NotAllowed(
                f"the project {project.slug} may not use version {version} of "
                f"{name}: it may use {versions or sorted(known)}"
            )
        leased.append(
            schema.LeasedDataset(name=name, version=version, sha256=known[version].sha256)
        )
    return leased
