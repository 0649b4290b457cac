"""The checkers' desk page, `/checking`: the face of `services/checking_desk.py`, as the API's
`GET /releases/queue` is. For output checkers only (the service says so to anyone else); the
navigation bar links to it for them alone."""

from __future__ import annotations

import datetime as dt

from fastapi import Request

from ..deps import SessionDep
from ..permissions import Permission as P
from ..services import checking_desk
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


environment.globals["is_checker"] = is_checker  # the base template's navigation bar asks it


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
        record_from=(found.now - dt.timedelta(days=found.window_days)).date().isoformat(),
        record_to=found.now.date().isoformat(),
    )
