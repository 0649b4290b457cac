"""Which projects may use a dataset: requests, decisions and withdrawals (a state machine).

A project asks to use a dataset with a purpose; a Governance Reviewer, never the one who
asked, approves (perhaps until a day) or rejects, and may revoke; the one who asked may
withdraw. The transitions are data in `states.py`, every change goes through
`transitions.move` (audited as `dataset_access.<state>`). What a project may use now is
`dataset_access.py`'s to read.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import schema
from .. import orm
from ..audit import record
from ..callers import Caller
from ..errors import ProblemError
from ..permissions import Permission as P
from ..transitions import move
from .datasets import dataset_named
from .lookup import project_named
from .projects import visible_projects


def request_access(
    session: Session, caller: Caller, body: schema.AccessRequestCreate
) -> orm.DatasetAccess:
    project = project_named(session, body.project)
    caller.require(P.DATASET_REQUEST, project)
    dataset = dataset_named(session, body.backend, body.dataset)
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
    return row


def visible_access(session: Session, caller: Caller, access_id: str) -> orm.DatasetAccess:
    """A request, to those who decide and to those who may view its project."""
    row = session.get(orm.DatasetAccess, access_id)
    if row is None:
        raise ProblemError(404, f"there is no dataset access request {access_id!r}")
    if not (caller.can(P.DATASET_DECIDE) or caller.can(P.PROJECT_VIEW, row.project)):
        raise ProblemError(
            403, f"{caller.name} may not see the requests of project {row.project.slug}"
        )
    return row


def get_access(session: Session, caller: Caller, access_id: str) -> orm.DatasetAccess:
    row = visible_access(session, caller, access_id)
    caller.require(P.PROJECT_VIEW, row.project)  # passes: those who decide view every project
    return row


def list_access(
    session: Session,
    caller: Caller,
    *,
    project: str | None = None,
    state: str | None = None,
    limit: int,
    before: str | None = None,
) -> list[orm.DatasetAccess]:
    """Up to `limit + 1` requests, newest first: of the projects one may see, or every one
    for those who decide. An expired approval is stored as approved: `state` "expired" is
    the faces' to keep (they read `effective_state`)."""
    query = select(orm.DatasetAccess)
    if not caller.can(P.DATASET_DECIDE):
        projects = visible_projects(caller).with_only_columns(orm.Project.id)
        query = query.where(orm.DatasetAccess.project_id.in_(projects))
    if project:
        query = query.where(orm.DatasetAccess.project_id == project_named(session, project).id)
    if state and state != "expired":
        query = query.where(orm.DatasetAccess.state == state)
    if before is not None:
        query = query.where(orm.DatasetAccess.id < before)
    return list(session.scalars(query.order_by(orm.DatasetAccess.id.desc()).limit(limit + 1)))


DECISIONS = {"approve": "approved", "reject": "rejected", "revoke": "revoked"}


def decide(
    session: Session, caller: Caller, access_id: str, new: str, body: schema.AccessDecision
) -> orm.DatasetAccess:
    """A Governance Reviewer's decision (`new`: approved, rejected or revoked), never on a
    request of their own; an approval may last until a day."""
    caller.require(P.DATASET_DECIDE)
    row = visible_access(session, caller, access_id)
    if row.requested_by_id == caller.user.id:
        raise ProblemError(
            403,
            "you asked for this access, so you may not decide on it: ask "
            "another Governance Reviewer",
        )
    if body.until is not None and body.until < orm.utcnow().date():
        raise ProblemError(422, f"{body.until} has passed: give a day from today on")
    until = body.until if new == "approved" else row.until
    move(
        session,
        row,
        new,
        actor=caller.name,
        audit={"reason": body.reason, "until": until.isoformat() if until else None},
        decided_by_id=caller.user.id,
        decided_by=caller.user,
        decided_at=orm.utcnow(),
        reason=body.reason,
        until=until,
    )
    session.commit()
    return row


def withdraw_access(session: Session, caller: Caller, access_id: str) -> orm.DatasetAccess:
    """The one who asked takes the request back."""
    row = visible_access(session, caller, access_id)
    caller.require(P.DATASET_REQUEST, row.project)
    if row.requested_by_id != caller.user.id:
        raise ProblemError(403, f"only {row.requested_by.username}, who asked, may withdraw it")
    move(session, row, "withdrawn", actor=caller.name)
    session.commit()
    return row
