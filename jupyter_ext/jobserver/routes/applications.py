"""Applications for a project: the API's face of `services.applications`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from ... import schema
from ...schema.states import ApplicationState
from .. import views
from ..callers import Caller
from ..deps import SessionDep, requires
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..services import applications

router = APIRouter(tags=["applications"])

SignedIn = Annotated[Caller, requires(P.SIGNED_IN)]
Reviewer = Annotated[Caller, requires(P.APPLICATION_REVIEW)]


@router.post("/applications", status_code=201)
def apply(
    body: schema.ApplicationCreate, caller: SignedIn, session: SessionDep
) -> schema.Application:
    return views.application(applications.apply(session, caller, body))


@router.get("/applications")
def list_applications(
    request: Request,
    caller: SignedIn,
    session: SessionDep,
    state: ApplicationState | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.Application]:
    """One's own applications; all of them for those who review them."""
    found = applications.list_applications(
        session, caller, state, decode_cursor(cursor, str), limit + 1
    )
    items, next_url = page(request, found, limit, lambda a: a.id)
    return schema.Page(items=[views.application(a) for a in items], next=next_url)


@router.get("/applications/{application_id}")
def get_application(
    application_id: str, caller: SignedIn, session: SessionDep
) -> schema.Application:
    return views.application(applications.get_application(session, caller, application_id))


@router.post("/applications/{application_id}/approve")
def approve(
    application_id: str, body: schema.ApplicationReview, caller: Reviewer, session: SessionDep
) -> schema.Application:
    """Approval makes the project: the study's name, the applicant as coordinator and developer."""
    return views.application(applications.approve(session, caller, application_id, body))


@router.post("/applications/{application_id}/reject")
def reject(
    application_id: str, body: schema.ApplicationReview, caller: Reviewer, session: SessionDep
) -> schema.Application:
    return views.application(applications.reject(session, caller, application_id, body))


@router.post("/applications/{application_id}/resubmit")
def resubmit(
    application_id: str,
    body: schema.ApplicationCreate,
    caller: Annotated[Caller, requires(P.SIGNED_IN, "owner")],
    session: SessionDep,
) -> schema.Application:
    """The applicant answers a rejection with a changed application."""
    return views.application(applications.resubmit(session, caller, application_id, body))
