"""Applications for a project: submitted, reviewed by someone else, then approved (which
makes the project, the applicant its coordinator) or rejected with a reason the applicant
can act on, and resubmitted. States change only through `transitions.move`."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import schema
from ...schema.states import ApplicationState
from .. import orm
from ..audit import record
from ..callers import Caller
from ..errors import ProblemError
from ..permissions import Permission as P
from ..states import advance
from ..transitions import move
from .lookup import backend_named, org_named
from .projects import add_member, create_project


def get_application(session: Session, caller: Caller, application_id: str) -> orm.Application:
    """One's own application, or anyone's for those who may see all; else a 404."""
    row = session.get(orm.Application, application_id)
    if row is None or (
        row.created_by_id != caller.user.id and not caller.can(P.APPLICATION_VIEW_ALL)
    ):
        raise ProblemError(
            404, f"there is no application {application_id!r}, or you may not see it"
        )
    return row


def list_applications(
    session: Session,
    caller: Caller,
    state: ApplicationState | None = None,
    before: str | None = None,
    limit: int = 100,
) -> list[orm.Application]:
    """One's own applications, newest first; all of them for those who review them."""
    query = select(orm.Application)
    if not caller.can(P.APPLICATION_VIEW_ALL):
        query = query.where(orm.Application.created_by_id == caller.user.id)
    if state:
        query = query.where(orm.Application.state == state.value)
    if before is not None:
        query = query.where(orm.Application.id < before)
    return list(session.scalars(query.order_by(orm.Application.id.desc()).limit(limit)))


def apply(session: Session, caller: Caller, body: schema.ApplicationCreate) -> orm.Application:
    """A new application, submitted (the state a new row starts in)."""
    org = org_named(session, body.org)
    for slug in body.backends:
        backend_named(session, slug)
    row = orm.Application(
        study_name=body.study_name,
        org_id=org.id,
        purpose=body.purpose,
        data=body.data,
        backends=sorted(set(body.backends)),
        people=sorted(set(body.people)),
        created_by_id=caller.user.id,
    )
    row.org, row.created_by = org, caller.user
    session.add(row)
    session.flush()
    record(session, caller.name, "application.submit", row, after={"study_name": body.study_name})
    session.commit()
    return row


def _reviewable(session: Session, caller: Caller, application_id: str) -> orm.Application:
    """An application the caller may review: a reviewer's, and never their own."""
    caller.require(P.APPLICATION_REVIEW)
    row = get_application(session, caller, application_id)
    if row.created_by_id == caller.user.id:
        raise ProblemError(403, "you may not review your own application: ask another reviewer")
    return row


def approve(
    session: Session, caller: Caller, application_id: str, body: schema.ApplicationReview
) -> orm.Application:
    """Approval makes the project: the study's name, the applicant as coordinator and developer,
    the people named as developers (those the job server knows)."""
    row = _reviewable(session, caller, application_id)
    advance("application", row.state, ApplicationState.APPROVED)  # refused before anything is made
    project = create_project(session, caller.name, row.org, row.study_name)
    session.flush()
    add_member(
        session, caller.name, project, row.created_by, ["project_coordinator", "project_developer"]
    )
    for username in row.people:
        person = session.scalar(select(orm.User).where(orm.User.username == username))
        if person is not None and person.id != row.created_by_id:
            add_member(session, caller.name, project, person, ["project_developer"])
    move(
        session,
        row,
        ApplicationState.APPROVED,
        actor=caller.name,
        action="application.approve",
        audit={"project": project.slug},
        project=project,
        reviewed_by=caller.user,
        reviewed_at=orm.utcnow(),
        reason=body.reason or None,
    )
    session.commit()
    return row


def reject(
    session: Session, caller: Caller, application_id: str, body: schema.ApplicationReview
) -> orm.Application:
    row = _reviewable(session, caller, application_id)
    if not body.reason.strip():
        raise ProblemError(422, "say why it is rejected: give a reason the applicant can act on")
    move(
        session,
        row,
        ApplicationState.REJECTED,
        actor=caller.name,
        action="application.reject",
        audit={"reason": body.reason},
        reviewed_by=caller.user,
        reviewed_at=orm.utcnow(),
        reason=body.reason,
    )
    session.commit()
    return row


def resubmit(
    session: Session, caller: Caller, application_id: str, body: schema.ApplicationCreate
) -> orm.Application:
    """The applicant answers a rejection with a changed application."""
    row = get_application(session, caller, application_id)
    if row.created_by_id != caller.user.id:
        raise ProblemError(403, "only the applicant may resubmit an application")
    move(
        session,
        row,
        ApplicationState.SUBMITTED,
        actor=caller.name,
        action="application.resubmit",
        study_name=body.study_name,
        purpose=body.purpose,
        data=body.data,
        backends=sorted(set(body.backends)),
        people=sorted(set(body.people)),
        reviewed_by=None,
        reviewed_at=None,
    )
    row.org = org_named(session, body.org)  # after the state's check, as the table answers first
    session.commit()
    return row
