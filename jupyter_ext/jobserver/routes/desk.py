"""The checkers' desk: an output checker's backlog, votes and time to a decision
(`services/checking_desk.py` decides who may and what they see).

Registered before `releases.router`: `/releases/queue` is not a release's id.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from ... import schema
from ..callers import Caller
from ..deps import SessionDep, requires
from ..pagination import DEFAULT_LIMIT, INT32_MAX, MAX_LIMIT
from ..permissions import Permission as P
from ..services import checking_desk

router = APIRouter(tags=["releases"])
HISTORY = 20  # votes shown unless asked for more


@router.get("/releases/queue")
def queue(
    request: Request,
    # a global output checker, or one a site named: the domain asks which
    caller: Annotated[Caller, requires(P.RELEASE_REVIEW, "project")],
    session: SessionDep,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Releases of the backlog."),
    history: int = Query(HISTORY, ge=1, le=MAX_LIMIT, description="Votes of the caller's."),
    before: int | None = Query(
        None, ge=1, le=INT32_MAX, description="Only votes cast before this one (`history_before`)."
    ),
) -> schema.Desk:
    """What waits for the caller (oldest request first), who holds it, what they decided
    lately, and the median time from request to decision over the last 30 days."""
    return checking_desk.desk(
        session,
        caller,
        required=request.app.state.settings.required_approvals,
        limit=limit,
        history=history,
        before=before,
    )
