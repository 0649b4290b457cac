"""Schedules: a workspace's actions submitted on a cron expression (the rules:
`services/schedules.py`; firing: `services/schedule_firing.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ... import schema
from ..callers import Caller
from ..deps import SessionDep, requires
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..schedule_views import firing, schedule
from ..services import schedules

router = APIRouter(tags=["schedules"])
PAUSER = requires(P.SCHEDULE_PAUSE, "project", also=P.JOB_RUN)  # or its owner, who may run jobs


@router.post("/schedules", status_code=201)
def create_schedule(
    body: schema.ScheduleCreate,
    request: Request,
    caller: Annotated[Caller, requires(P.JOB_RUN, "project")],
    session: SessionDep,
) -> schema.Schedule:
    """Submit `actions` at `backends` at each firing of `cron` in `timezone`, as the caller,
    at the branch head; checked now as such a submission would be, with the caller's saved
    GitHub token (the one its firings use)."""
    state = request.app.state
    row = schedules.create_schedule(
        session,
        caller,
        body,
        state.repos,
        state.vault,
        now=state.scheduler.now(),
        every_at_least=state.scheduler.every_at_least,
    )
    return schedule(row)


@router.get("/schedules")
def list_schedules(
    request: Request,
    caller: Annotated[Caller, requires(P.SIGNED_IN)],
    session: SessionDep,
    workspace: str | None = None,
    state: schema.ScheduleState | None = Query(None, description="Deleted ones only if asked."),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.Schedule]:
    found = schedules.list_schedules(
        session,
        caller,
        workspace=workspace,
        state=state,
        before=decode_cursor(cursor, str),
        limit=limit + 1,
    )
    rows, next_url = page(request, found, limit, lambda r: r.id)
    return schema.Page(items=[schedule(r) for r in rows], next=next_url)


@router.get("/schedules/{schedule_id}")
def get_schedule(
    schedule_id: str,
    caller: Annotated[Caller, requires(P.PROJECT_VIEW, "project")],
    session: SessionDep,
) -> schema.Schedule:
    return schedule(schedules.viewable_schedule(session, caller, schedule_id))


@router.get("/schedules/{schedule_id}/history")
def schedule_history(
    schedule_id: str,
    request: Request,
    caller: Annotated[Caller, requires(P.PROJECT_VIEW, "project")],
    session: SessionDep,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.ScheduleFiring]:
    """Its firings, newest first: what each made, or why it made nothing."""
    found = schedules.history(
        session, caller, schedule_id, before=decode_cursor(cursor, int), limit=limit + 1
    )
    rows, next_url = page(request, found, limit, lambda r: r.id)
    return schema.Page(items=[firing(r) for r in rows], next=next_url)


@router.post("/schedules/{schedule_id}/pause")
def pause_schedule(
    schedule_id: str,
    request: Request,
    caller: Annotated[Caller, PAUSER],
    session: SessionDep,
) -> schema.Schedule:
    """It fires no more until resumed: its owner, or a coordinator of its project."""
    now = request.app.state.scheduler.now()
    return schedule(schedules.pause(session, caller, schedule_id, now))


@router.post("/schedules/{schedule_id}/resume")
def resume_schedule(
    schedule_id: str,
    request: Request,
    caller: Annotated[Caller, PAUSER],
    session: SessionDep,
) -> schema.Schedule:
    """Active again from its next firing after now; what it missed is not made up."""
    now = request.app.state.scheduler.now()
    return schedule(schedules.resume(session, caller, schedule_id, now))


@router.post("/schedules/{schedule_id}/run-now", status_code=201)
def run_schedule_now(
    schedule_id: str,
    request: Request,
    caller: Annotated[Caller, requires(P.JOB_RUN, "owner")],
    session: SessionDep,
) -> schema.ScheduleFiring:
    """Its submission made at once by its owner; its next firing stays as it was."""
    state = request.app.state
    made = schedules.run_now(
        session, caller, schedule_id, state.repos, state.vault, state.scheduler.now()
    )
    return firing(made)


@router.delete("/schedules/{schedule_id}", status_code=204)
def delete_schedule(
    schedule_id: str,
    request: Request,
    caller: Annotated[Caller, requires(P.JOB_RUN, "owner")],
    session: SessionDep,
) -> Response:
    """It never fires again (only its owner deletes it); it and its history stay readable."""
    schedules.delete(session, caller, schedule_id, request.app.state.scheduler.now())
    return Response(status_code=204)
