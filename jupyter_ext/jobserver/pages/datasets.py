"""Pages for datasets: a project asks to use one (on its project page), and a Governance
Reviewer decides on `/dataset-access`. The API's route functions decide, as everywhere."""

from __future__ import annotations

import datetime as dt

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ... import schema
from ..deps import Caller, SessionDep
from ..errors import ProblemError
from ..permissions import Permission as P
from ..routes import datasets
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
DECISIONS = {
    "approve": datasets.approve_access,
    "reject": datasets.reject_access,
    "revoke": datasets.revoke_access,
}


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
    datasets.request_access(body, caller, session)
    return see(request, f"{org}/{project}", "asked")


@page("/dataset-access", P.SIGNED_IN)
def access_page(request: Request, session: SessionDep):
    """The requests one may see; Governance Reviewers decide here."""
    caller = page_caller(request, session)
    found = datasets.list_access(
        request, caller, session, project=None, state=None, limit=100, cursor=None
    )
    return render(
        request,
        "datasets_access.html",
        caller,
        requests=found.items,
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
    DECISIONS[decision](access_id, body, caller, session)
    return see(
        request,
        "dataset-access",
        {"approve": "approved", "reject": "rejected", "revoke": "revoked"}[decision],
    )


def project_datasets(request: Request, caller: Caller, session: Session, project) -> dict:
    """What the project page shows of datasets: those it may use, its requests, and the
    others of its organisation's backends it may ask for."""
    usable = datasets.list_datasets(caller, session, backend=None, project=project.slug)
    requests = datasets.list_access(
        request, caller, session, project=project.slug, state=None, limit=20, cursor=None
    ).items
    backends = {b.slug for b in project.org.backends}
    others = [
        d
        for d in datasets.list_datasets(caller, session, backend=None, project=None)
        if d.backend in backends
        and d.status == "active"
        and (d.backend, d.name) not in {(u.backend, u.name) for u in usable}
    ]
    return {
        "usable_datasets": usable,
        "dataset_requests": requests,
        "askable": others,
        "may_ask": caller.can(P.DATASET_REQUEST, project),
        "done": DONE.get(request.query_params.get("done", "")),
    }
