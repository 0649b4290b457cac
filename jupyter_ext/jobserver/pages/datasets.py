"""Pages for datasets: a project asks to use one (on its project page), and a Governance
Reviewer decides on `/dataset-access`. The services the API calls decide, as everywhere."""

from __future__ import annotations

import datetime as dt

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ... import schema
from .. import release_views
from ..callers import Caller
from ..deps import SessionDep
from ..errors import ProblemError
from ..permissions import Permission as P
from ..services import access_requests, datasets
from . import field, form, page
from .auth import page_caller
from .render import render
from .work import see

DONE = {
    "asked": "Your request is sent: a Governance Reviewer decides on it.",
    "approved": "Approved: the project's jobs may read the dataset.",
    "rejected": "Rejected, with your reason.",
    "revoked": "Revoked: the project's jobs can no longer read the dataset.",
}
DECISIONS = access_requests.DECISIONS  # the form's verb: the state it decides


@form("/{org}/{project}/datasets/ask")
def ask(
    request: Request, session: Session, caller: Caller, fields: FormData, org: str, project: str
):
    backend, _, name = field(fields, "dataset").strip().partition("/")
    purpose = field(fields, "purpose").strip()
    if not (backend and name and purpose):
        raise ProblemError(422, "choose a dataset and say what the project needs it for")
    body = schema.AccessRequestCreate(
        project=project, backend=backend, dataset=name, purpose=purpose
    )
    access_requests.request_access(session, caller, body)
    return see(request, f"{org}/{project}", "asked")


@page("/dataset-access", P.SIGNED_IN)
def access_page(request: Request, session: SessionDep):
    """The requests one may see; Governance Reviewers decide here."""
    caller = page_caller(request, session)
    found = access_requests.list_access(session, caller, limit=100)[:100]
    return render(
        request,
        "datasets_access.html",
        caller,
        requests=[release_views.dataset_access(r) for r in found],
        decide=caller.can(P.DATASET_DECIDE),
        done=DONE.get(request.query_params.get("done", "")),
    )


@form("/dataset-access/{access_id}/{decision}")
def decide(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    access_id: str,
    decision: str,
):
    if decision not in DECISIONS:
        raise ProblemError(404, f"there is no decision {decision!r}: approve, reject or revoke")
    until = field(fields, "until").strip()
    try:
        day = dt.date.fromisoformat(until) if until else None
    except ValueError:
        raise ProblemError(422, f"{until!r} is not a day: write it as 2027-03-31") from None
    body = schema.AccessDecision(reason=field(fields, "reason").strip(), until=day)
    access_requests.decide(session, caller, access_id, DECISIONS[decision], body)
    return see(request, "dataset-access", DECISIONS[decision])


def project_datasets(request: Request, caller: Caller, session: Session, project) -> dict:
    """What the project page shows of datasets: those it may use, its requests, and the
    others of its organisation's backends it may ask for."""
    usable = datasets.list_datasets(session, caller, project=project.slug)
    requests = access_requests.list_access(session, caller, project=project.slug, limit=20)[:20]
    backends = {b.id for b in project.org.backends}
    others = [
        d
        for d in datasets.list_datasets(session, caller)
        if d.backend_id in backends and d.status == "active" and d not in usable
    ]
    return {
        "usable_datasets": [release_views.dataset(d) for d in usable],
        "dataset_requests": [release_views.dataset_access(r) for r in requests],
        "askable": [release_views.dataset(d) for d in others],
        "may_ask": caller.can(P.DATASET_REQUEST, project),
        "done": DONE.get(request.query_params.get("done", "")),
    }
