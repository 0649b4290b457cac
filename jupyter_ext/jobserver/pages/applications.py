"""Applying for a project, step by step, and reviewing applications (the user guide's step 2):
faces of `services.applications`."""

from __future__ import annotations

import re

from fastapi import Request
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ... import schema
from ...schema.states import ApplicationState
from .. import views
from ..deps import Caller, SessionDep
from ..errors import ProblemError
from ..pagination import decode_cursor
from ..permissions import Permission as P
from ..services import applications, orgs
from . import field as text
from . import field_list as texts
from . import form, page
from .auth import page_caller
from .forms import LISTED, attempt, body, listed, notice, see, sentence
from .render import render

STEPS = (
    ("Study", ("study_name", "org")),
    ("Purpose and data", ("purpose", "data")),
    ("Backends", ("backends",)),
    ("People", ("people",)),
    ("Check and send", ()),
)
TRIAL = {
    "study_name": "x",
    "org": "x",
    "purpose": "x",
    "data": "x",
    "backends": ["x"],
    "people": [],
}


def people(value: str) -> list[str]:
    """GitHub logins typed one a line (or separated by commas or spaces, with or without @)."""
    return [p.lstrip("@") for p in re.split(r"[\s,;]+", value) if p.lstrip("@")]


def _answers(fields: FormData) -> dict:
    answers = {n: text(fields, n) for n in ("study_name", "org", "purpose", "data", "people")}
    return {**answers, "backends": texts(fields, "backends")}


def _wire(answers: dict) -> dict:
    return {**answers, "people": people(answers["people"])}


def _check_step(step: int, answers: dict, session: Session) -> None:
    """The answers of one step, judged by the API's own model (and its organisation's)."""
    names = STEPS[step][1]
    wire = _wire(answers)
    try:
        schema.ApplicationCreate.model_validate({**TRIAL, **{n: wire[n] for n in names}})
    except ValidationError as exc:
        errors = [e for e in exc.errors() if not e.get("loc") or e["loc"][0] in names]
        if errors:
            raise ProblemError(422, sentence(errors, schema.ApplicationCreate)) from None
    if "org" in names:
        orgs.get_org(session, answers["org"])


def _application_form(
    request: Request,
    session: Session,
    caller: Caller,
    answers: dict,
    step: int,
    resubmit: str = "",
    problem: ProblemError | None = None,
):
    org_list = [views.org(o) for o in orgs.list_orgs(session)]
    chosen = next((o for o in org_list if o.slug == answers["org"]), None)
    return render(
        request,
        "admin_application_new.html",
        caller,
        status=problem.status if problem else 200,
        steps=STEPS,
        step=step,
        answers=answers,
        org=chosen,
        org_options=[(o.slug, o.name) for o in org_list],
        people_list=people(answers["people"]),
        resubmit=resubmit,
        problem=problem,
    )


@page("/applications", P.SIGNED_IN)
def applications_page(request: Request, session: SessionDep, state: str = "", cursor: str = ""):
    caller = page_caller(request, session)
    states = [s.value for s in ApplicationState]
    if state and state not in states:
        raise ProblemError(422, f"there is no state {state!r}: use {', '.join(states)}")
    found = applications.list_applications(
        session,
        caller,
        state=ApplicationState(state) if state else None,
        before=decode_cursor(cursor or None, str),
        limit=LISTED + 1,
    )
    rows, older = listed(found, lambda a: a.id)
    return render(
        request,
        "admin_applications.html",
        caller,
        applications=[views.application(a) for a in rows],
        states=states,
        state=state,
        older=older,
        all=caller.can(P.APPLICATION_VIEW_ALL),
    )


@page("/applications/new", P.SIGNED_IN)
def new_application_page(request: Request, session: SessionDep):
    """Step one of the application; `?from=ID` starts from a rejected one, to send it again."""
    caller = page_caller(request, session)
    answers = _answers(FormData())
    resubmit = request.query_params.get("from", "")
    if resubmit:
        earlier = views.application(applications.get_application(session, caller, resubmit))
        answers = {
            **earlier.model_dump(include={"study_name", "org", "purpose", "data"}),
            "backends": earlier.backends,
            "people": "\n".join(earlier.people),
        }
    return _application_form(request, session, caller, answers, 0, resubmit)


@form("/applications/new")
def application_step(request: Request, session: Session, caller: Caller, fields: FormData):
    """Each step posts here with the earlier answers in hidden fields: back, on, or send."""
    answers, resubmit = _answers(fields), text(fields, "resubmit")
    last = len(STEPS) - 1
    step = int(s) if (s := text(fields, "step")).isdigit() and int(s) <= last else 0
    go = text(fields, "go")
    if go == "back" or (go.isdigit() and int(go) < step):
        target = step - 1 if go == "back" else int(go)
        return _application_form(request, session, caller, answers, max(target, 0), resubmit)

    def again(problem):
        return _application_form(request, session, caller, answers, step, resubmit, problem)

    if step < last:

        def on():
            _check_step(step, answers, session)
            return _application_form(request, session, caller, answers, step + 1, resubmit)

        return attempt(session, on, again)

    def send():
        made = body(schema.ApplicationCreate, **_wire(answers))
        if resubmit:
            sent = applications.resubmit(session, caller, resubmit, made)
        else:
            sent = applications.apply(session, caller, made)
        return see(request, f"applications/{sent.id}", "sent")

    return attempt(session, send, again)


def _application_page(request, session, caller, application_id, problem=None, reason=""):
    found = views.application(applications.get_application(session, caller, application_id))
    return render(
        request,
        "admin_application.html",
        caller,
        status=problem.status if problem else 200,
        application=found,
        problem=problem,
        reason=reason,
        notice=notice(request),
        may_review=caller.can(P.APPLICATION_REVIEW)
        and found.created_by != caller.name
        and found.state == ApplicationState.SUBMITTED,
        may_resubmit=found.created_by == caller.name and found.state == ApplicationState.REJECTED,
    )


@page("/applications/{application_id}", P.SIGNED_IN, "owner")
def application_page(application_id: str, request: Request, session: SessionDep):
    caller = page_caller(request, session)
    return _application_page(request, session, caller, application_id)


@form("/applications/{application_id}/review")
def review_application(
    request: Request, session: Session, caller: Caller, fields: FormData, application_id: str
):
    """Approve (making the project) or reject with a reason: the API's approve and reject."""
    reason, decision = text(fields, "reason"), text(fields, "decision")

    def review():
        answer = body(schema.ApplicationReview, reason=reason)
        if decision == "approve":
            applications.approve(session, caller, application_id, answer)
        elif decision == "reject":
            applications.reject(session, caller, application_id, answer)
        else:
            raise ProblemError(422, "choose Approve or Reject")
        return see(request, f"applications/{application_id}", f"{decision}d")

    return attempt(
        session,
        review,
        lambda problem: _application_page(
            request, session, caller, application_id, problem, reason
        ),
    )
