"""A workspace's schedules on its page: each with its next firing and last outcomes, and forms
to make one, pause, resume, run now or delete it. The services the API calls decide, as
everywhere; the forms show only to those the permission table lets use them."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ... import schema
from .. import orm
from ..callers import Caller
from ..errors import ProblemError
from ..permissions import Permission as P
from ..schedule_views import firing, schedule
from ..services import schedules
from . import field, field_list, form
from .work import body, path_of, see, workspace_at

SHOWN, FIRINGS = 20, 3  # schedules a workspace page shows, and the last firings of each
DONE = {
    "schedule-created": "The schedule is made: it fires next as shown.",
    "schedule-paused": "The schedule is paused: it fires no more until resumed.",
    "schedule-resumed": "The schedule is active again from its next firing.",
    "schedule-run-now": "The schedule ran now: its job request is in the list below.",
    "schedule-deleted": "The schedule is deleted: it never fires again.",
}
ACTS = {"pause": "schedule-paused", "resume": "schedule-resumed", "run-now": "schedule-run-now"}


def _words(fields: FormData, name: str) -> list[str]:
    """A field of names separated by spaces or commas (and every ticked box of that name)."""
    return [w for v in field_list(fields, name) for w in v.replace(",", " ").split() if w]


@form("/{org}/{project}/{workspace}/schedules")
def create_schedule(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    org: str,
    project: str,
    workspace: str,
):
    row = workspace_at(caller, session, org, project, workspace)
    made = body(
        schema.ScheduleCreate,
        workspace=row.name,
        title=field(fields, "title").strip() or None,
        actions=_words(fields, "actions"),
        backends=_words(fields, "backends"),
        cron=field(fields, "cron"),
        timezone=field(fields, "timezone").strip() or "UTC",
        catch_up=field(fields, "catch_up") or "once",
        notify="notify" in fields,
        force_run_dependencies="force_run_dependencies" in fields,
    )
    state = request.app.state
    schedules.create_schedule(
        session,
        caller,
        made,
        state.repos,
        state.vault,
        now=state.scheduler.now(),
        every_at_least=state.scheduler.every_at_least,
    )
    return see(request, path_of(row), "schedule-created")


@form("/{org}/{project}/{workspace}/schedules/{schedule_id}/{act}")
def change_schedule(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    org: str,
    project: str,
    workspace: str,
    schedule_id: str,
    act: str,
):
    row = workspace_at(caller, session, org, project, workspace)
    state = request.app.state
    now = state.scheduler.now()
    if act == "pause":
        schedules.pause(session, caller, schedule_id, now)
    elif act == "resume":
        schedules.resume(session, caller, schedule_id, now)
    elif act == "run-now":
        schedules.run_now(session, caller, schedule_id, state.repos, state.vault, now)
    elif act == "delete":
        schedules.delete(session, caller, schedule_id, now)
    else:
        raise ProblemError(404, f"a schedule cannot {act!r}: pause, resume, run-now or delete")
    return see(request, path_of(row), ACTS.get(act, "schedule-deleted"))


def _acts(caller: Caller, row: orm.Schedule) -> list[str]:
    """What the caller may do to it, as the services will decide."""
    project = row.workspace.project
    owner = row.created_by_id == caller.user.id and caller.can(P.JOB_RUN, project)
    pauser = owner or caller.can(P.SCHEDULE_PAUSE, project)
    acts = []
    if pauser:
        acts.append("pause" if row.state == "active" else "resume")
    if owner:
        acts += ["run-now", "delete"]
    return acts


def workspace_schedules(request: Request, caller: Caller, session: Session, row) -> dict:
    """What the workspace page shows of its schedules, and whether the caller may make one."""
    found = schedules.list_schedules(session, caller, workspace=row.name, limit=SHOWN)
    shown = []
    for s in found:
        last = schedules.history(session, caller, s.id, before=None, limit=FIRINGS)
        shown.append((schedule(s), [firing(f) for f in last], _acts(caller, s)))
    return {
        "schedules": shown,
        "may_schedule": caller.can(P.JOB_RUN, row.project) and not row.archived,
        "backends_usable": [b.slug for b in row.project.org.backends],
        "schedule_done": DONE.get(request.query_params.get("done", "")),
    }
