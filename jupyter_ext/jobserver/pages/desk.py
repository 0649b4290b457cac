"""The checkers' desk page, `/checking`: the face of `services/checking_desk.py`, as the API's
`GET /releases/queue` is. For output checkers only (the service says so to anyone else); the
navigation bar links to it for them alone."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import Query, Request

from ..deps import SessionDep
from ..permissions import Permission as P
from ..record_download import record_download
from ..services import checking_desk, release_record
from . import page
from .auth import page_caller
from .render import environment, render
from .waiting import age

SHOWN = 100  # releases of the backlog in the page; it says how many more wait
VOTES = 25  # of the checker's own votes, then a link to the older ones
# a vote's badge takes the colour of the state that decision gives a file
OUTCOME = {"approve": "approved", "request_changes": "changes_requested", "reject": "rejected"}


def is_checker(caller) -> bool:
    """Whether the navigation bar links to the desk: global checkers and a site's own."""
    return caller.can(P.RELEASE_REVIEW) or bool(caller.sites(P.RELEASE_REVIEW))


def reads_record(caller) -> bool:
    """Whether the navigation bar links to the record of decisions (administrators; checkers
    find it on their desk)."""
    return caller.can(P.RELEASE_RECORD) or bool(caller.sites(P.RELEASE_RECORD))


environment.globals["is_checker"] = is_checker  # the base template's navigation bar asks it
environment.globals["reads_record"] = reads_record


def _before(request: Request) -> int | None:
    """The `before` of an "older votes" link; anything else is the latest votes."""
    value = request.query_params.get("before", "")
    return int(value) if value.isdigit() and 0 < int(value) < 2**31 else None


@page("/checking", P.RELEASE_REVIEW, "project")
def checking_page(request: Request, session: SessionDep):
    caller = page_caller(request, session)
    found = checking_desk.desk(
        session,
        caller,
        required=request.app.state.settings.required_approvals,
        limit=SHOWN,
        history=VOTES,
        before=_before(request),
    )
    return render(
        request,
        "desk.html",
        caller,
        desk=found,
        older=_before(request) is not None,
        outcome=OUTCOME,
        age=lambda seconds: age(dt.timedelta(seconds=seconds)),
        **_last_days(found.window_days),
    )


def _last_days(days: int) -> dict[str, str]:
    today = dt.datetime.now(dt.UTC).date()
    return {"record_from": (today - dt.timedelta(days=days)).isoformat(), "record_to": str(today)}


@page("/checking/record", P.RELEASE_RECORD, "project")
def record_page(
    request: Request,
    session: SessionDep,
    project: str | None = None,
    since: dt.date | None = Query(None, alias="from"),
    until: dt.date | None = Query(None, alias="to"),
    form: Literal["json", "csv"] | None = Query(None, alias="format"),
):
    """The record of release decisions: its form, and the download it asks for (the same as
    the API's `GET /release-decisions`, its reading audited)."""
    caller = page_caller(request, session)
    if form is None:
        release_record.record_sites(caller)  # who may not read it is told so, not shown a form
        return render(request, "record.html", caller, **_last_days(30))
    scope = release_record.open_record(
        session, caller, project=project or None, since=since, until=until, form=form
    )
    return record_download(request.app.state.sessionmaker, scope, form)
