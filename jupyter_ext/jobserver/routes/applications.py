"""Applications for a project: submitted, reviewed, then approved (making it) or rejected."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import schema
from ...schema.states import ApplicationState
from .. import orm, views
from ..audit import record
from ..deps import Caller, CallerDep, SessionDep, permission
from ..errors import ProblemError
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..states import advance
from ._common import backend_named, org_named
from .projects import add_member, create_project

router = APIRouter(tags=["applications"])


def _application(caller: Caller, session: Session, application_id: str) -> orm.Application:
    row = session.get(orm.Application, application_id)
    if row is None or (
        row.created_by_id != caller.user.id and not caller.can(P.APPLICATION_VIEW_ALL)
    ):
        raise ProblemError(
            404, f"there is no application {application_id!r}, or you may not see it"
        )
    return row


def _reviewable(caller: Caller, session: Session, application_id: str) -> orm.Application:
    """An application the caller may review: a reviewer's, and never their own."""
    caller.require(P.APPLICATION_REVIEW)
    row = _application(caller, session, application_id)
    if row.created_by_id == caller.user.id:
        raise ProblemError(403, "you may not review your own application: ask another reviewer")
    return row


@router.post("/applications", status_code=201, openapi_extra=permission(P.SIGNED_IN))
def apply(
    body: schema.ApplicationCreate, caller: CallerDep, session: SessionDep
) -> schema.Application:
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
        state=ApplicationState.SUBMITTED.value,
        created_by_id=caller.user.id,
    )
    row.org, row.created_by = org, caller.user
    session.add(row)
    session.flush()
    record(session, caller.name, "application.submit", row, after={"study_name": body.study_name})
    session.commit()
    return views.application(row)


@router.get("/applications", openapi_extra=permission(P.SIGNED_IN))
def list_applications(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    state: ApplicationState | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.Application]:
    """One's own applications; all of them for those who review them."""
    query = select(orm.Application)
    if not caller.can(P.APPLICATION_VIEW_ALL):
        query = query.where(orm.Application.created_by_id == caller.user.id)
    if state:
        query = query.where(orm.Application.state == state.value)
    if (before := decode_cursor(cursor, str)) is not None:
        query = query.where(orm.Application.id < before)
    rows = session.scalars(query.order_by(orm.Application.id.desc()).limit(limit + 1)).all()
    items, next_url = page(request, rows, limit, lambda a: a.id)
    return schema.Page(items=[views.application(a) for a in items], next=next_url)


@router.get("/applications/{application_id}", openapi_extra=permission(P.SIGNED_IN))
def get_application(
    application_id: str, caller: CallerDep, session: SessionDep
) -> schema.Application:
    return views.application(_application(caller, session, application_id))


@router.post(
    "/applications/{application_id}/approve", openapi_extra=permission(P.APPLICATION_REVIEW)
)
def approve(
    application_id: str, body: schema.ApplicationReview, caller: CallerDep, session: SessionDep
) -> schema.Application:
    """Approval makes the project: the study's name, the applicant as coordinator and developer."""
    row = _reviewable(caller, session, application_id)
    row.state = advance("application", row.state, ApplicationState.APPROVED.value)
    project = create_project(session, caller.name, row.org, row.study_name)
    session.flush()
    add_member(
        session, caller.name, project, row.created_by, ["project_coordinator", "project_developer"]
    )
    for username in row.people:
        person = session.scalar(select(orm.User).where(orm.User.username == username))
        if person is not None and person.id != row.created_by_id:
            add_member(session, caller.name, project, person, ["project_developer"])
    row.project, row.reviewed_by, row.reviewed_at = project, caller.user, orm.utcnow()
    row.reason = body.reason or None
    record(
        session,
        caller.name,
        "application.approve",
        row,
        {"state": "submitted"},
        {"state": row.state, "project": project.slug},
    )
    session.commit()
    return views.application(row)


@router.post(
    "/applications/{application_id}/reject", openapi_extra=permission(P.APPLICATION_REVIEW)
)
def reject(
    application_id: str, body: schema.ApplicationReview, caller: CallerDep, session: SessionDep
) -> schema.Application:
    row = _reviewable(caller, session, application_id)
    if not body.reason.strip():
        raise ProblemError(422, "say why it is rejected: give a reason the applicant can act on")
    row.state = advance("application", row.state, ApplicationState.REJECTED.value)
    row.reviewed_by, row.reviewed_at, row.reason = caller.user, orm.utcnow(), body.reason
    record(
        session,
        caller.name,
        "application.reject",
        row,
        {"state": "submitted"},
        {"state": row.state, "reason": body.reason},
    )
    session.commit()
    return views.application(row)


@router.post(
    "/applications/{application_id}/resubmit", openapi_extra=permission(P.SIGNED_IN, "owner")
)
def resubmit(
    application_id: str, body: schema.ApplicationCreate, caller: CallerDep, session: SessionDep
) -> schema.Application:
    """The applicant answers a rejection with a changed application."""
    row = _application(caller, session, application_id)
    if row.created_by_id != caller.user.id:
        raise ProblemError(403, "only the applicant may resubmit an application")
    before = {"state": row.state}
    row.state = advance("application", row.state, ApplicationState.SUBMITTED.value)
    row.org = org_named(session, body.org)
    row.study_name, row.purpose, row.data = body.study_name, body.purpose, body.data
    row.backends, row.people = sorted(set(body.backends)), sorted(set(body.people))
    row.reviewed_by = row.reviewed_at = None
    record(session, caller.name, "application.resubmit", row, before, {"state": row.state})
    session.commit()
    return views.application(row)
