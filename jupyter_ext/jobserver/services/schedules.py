"""Schedules: made, listed, paused, resumed, run now and deleted (firing: `schedule_firing`).

A schedule is checked as a submission would be when it is made (the workspace, the actions
at the branch head, each backend, the caller's right to run jobs) and its cron expression as
`cron.parse` reads it, so a schedule that could never fire well is refused in one sentence
with nothing written. Its owner (who made it) changes it; whoever may pause schedules in the
project (its coordinators) pauses or resumes anyone's. Every change goes through the
schedule machine (`transitions.move`) and is audited.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import schema
from ...schema.states import ScheduleState
from .. import orm
from ..audit import record
from ..callers import Caller
from ..cron import Cron, CronError, parse
from ..errors import ProblemError
from ..permissions import Permission as P
from ..repos import RepositorySource
from ..security import Vault
from ..transitions import move
from .job_requests import plan_at, read_commit
from .lookup import workspace_named
from .projects import visible_projects
from .runs import sites_named
from .schedule_firing import submit

S = ScheduleState


def read_cron(body: schema.ScheduleCreate, now: dt.datetime, every_at_least: dt.timedelta) -> Cron:
    try:
        return parse(body.cron, body.timezone, now, every_at_least)
    except CronError as exc:
        raise ProblemError(422, str(exc)) from None


def check_submission(
    session: Session,
    caller: Caller,
    body: schema.ScheduleCreate,
    repos: RepositorySource,
    vault: Vault,
) -> None:
    """What a firing would submit, checked now at the branch head with the caller's saved
    GitHub token (the one firings use), as a job request or study run checks it. Work
    already pending is not a refusal: by the first firing it may be done."""
    sites = sites_named(body.backends)
    commit = read_commit(session, caller, body.workspace, None, None, repos, vault)
    for site in sites:
        try:
            plan_at(
                session,
                commit,
                site,
                body.actions,
                body.force_run_dependencies,
                repos,
                parameters=body.parameters,
                allow_nothing=True,
            )
        except ProblemError as exc:
            if len(sites) == 1:
                raise
            raise ProblemError(exc.status, f"at {site}: {exc.detail}", errors=exc.errors) from None


def create_schedule(
    session: Session,
    caller: Caller,
    body: schema.ScheduleCreate,
    repos: RepositorySource,
    vault: Vault,
    *,
    now: dt.datetime,
    every_at_least: dt.timedelta,
) -> orm.Schedule:
    """A new active schedule, due at its cron's first firing after `now`."""
    workspace = workspace_named(session, body.workspace)
    caller.require(P.JOB_RUN, workspace.project)
    cron = read_cron(body, now, every_at_least)
    check_submission(session, caller, body, repos, vault)
    row = orm.Schedule(
        workspace_id=workspace.id,
        created_by_id=caller.user.id,
        title=body.title,
        description=body.description,
        actions=list(body.actions),
        backends=list(body.backends),
        force_run_dependencies=body.force_run_dependencies,
        notify=body.notify,
        parameters=body.parameters,
        cron=cron.expression,
        timezone=body.timezone,
        catch_up=body.catch_up,
        state=S.ACTIVE.value,
        next_due_at=cron.next_after(now),
        created_at=now,
        updated_at=now,
    )
    row.workspace, row.created_by = workspace, caller.user
    session.add(row)
    session.flush()
    after = body.model_dump(mode="json", exclude={"description"})
    record(session, caller.name, "schedule.create", row, after=after)
    session.commit()
    return row


def _schedule(session: Session, schedule_id: str) -> orm.Schedule:
    row = session.get(orm.Schedule, schedule_id)
    if row is None:
        raise ProblemError(404, f"there is no schedule {schedule_id!r}, or you may not see it")
    return row


def viewable_schedule(session: Session, caller: Caller, schedule_id: str) -> orm.Schedule:
    row = _schedule(session, schedule_id)
    caller.require(P.PROJECT_VIEW, row.workspace.project)
    return row


def list_schedules(
    session: Session,
    caller: Caller,
    *,
    workspace: str | None = None,
    state: ScheduleState | None = None,
    before: str | None = None,
    limit: int,
) -> list[orm.Schedule]:
    """Schedules of the projects the caller may view, newest first; deleted ones only when
    asked for by state."""
    projects = visible_projects(caller).with_only_columns(orm.Project.id)
    workspaces = select(orm.Workspace.id).where(orm.Workspace.project_id.in_(projects))
    query = select(orm.Schedule).where(orm.Schedule.workspace_id.in_(workspaces))
    if workspace:
        query = query.where(orm.Schedule.workspace_id == workspace_named(session, workspace).id)
    if state is not None:
        query = query.where(orm.Schedule.state == state.value)
    else:
        query = query.where(orm.Schedule.state != S.DELETED.value)
    if before is not None:
        query = query.where(orm.Schedule.id < before)
    return list(session.scalars(query.order_by(orm.Schedule.id.desc()).limit(limit)))


def history(
    session: Session, caller: Caller, schedule_id: str, *, before: int | None, limit: int
) -> list[orm.ScheduleFiring]:
    """Its firings, newest first."""
    row = viewable_schedule(session, caller, schedule_id)
    query = select(orm.ScheduleFiring).where(orm.ScheduleFiring.schedule_id == row.id)
    if before is not None:
        query = query.where(orm.ScheduleFiring.id < before)
    return list(session.scalars(query.order_by(orm.ScheduleFiring.id.desc()).limit(limit)))


def _owned(caller: Caller, row: orm.Schedule, act: str) -> None:
    """Only its owner changes it: it runs as them."""
    caller.require(P.JOB_RUN, row.workspace.project)
    if row.created_by_id != caller.user.id:
        raise ProblemError(
            403,
            f"only {row.created_by.username} may {act} the schedule {row.id}: it runs as them "
            "(a coordinator of the project may pause it)",
        )


def _may_pause(caller: Caller, row: orm.Schedule) -> None:
    """Its owner, while they may run jobs; or whoever may pause the project's schedules."""
    project = row.workspace.project
    if row.created_by_id == caller.user.id and caller.can(P.JOB_RUN, project):
        return
    caller.require(P.SCHEDULE_PAUSE, project)


def pause(session: Session, caller: Caller, schedule_id: str, now: dt.datetime) -> orm.Schedule:
    """It fires no more until resumed."""
    row = _schedule(session, schedule_id)
    _may_pause(caller, row)
    move(session, row, S.PAUSED, actor=caller.name, action="schedule.pause", updated_at=now)
    session.commit()
    return row


def resume(session: Session, caller: Caller, schedule_id: str, now: dt.datetime) -> orm.Schedule:
    """Active again from its next firing after `now`: what it missed while paused is not
    made up."""
    row = _schedule(session, schedule_id)
    _may_pause(caller, row)
    due = Cron(row.cron, row.timezone).next_after(now)
    move(
        session,
        row,
        S.ACTIVE,
        actor=caller.name,
        action="schedule.resume",
        audit={"next_due_at": due.isoformat()},
        next_due_at=due,
        updated_at=now,
    )
    session.commit()
    return row


def delete(session: Session, caller: Caller, schedule_id: str, now: dt.datetime) -> orm.Schedule:
    """It never fires again; it and its history stay readable."""
    row = _schedule(session, schedule_id)
    _owned(caller, row, "delete")
    move(session, row, S.DELETED, actor=caller.name, action="schedule.delete", updated_at=now)
    session.commit()
    return row


def run_now(
    session: Session,
    caller: Caller,
    schedule_id: str,
    repos: RepositorySource,
    vault: Vault,
    now: dt.datetime,
) -> orm.ScheduleFiring:
    """Its submission made at once, by its owner (its next firing stays as it was): refused
    as that submission would be, with nothing written."""
    row = _schedule(session, schedule_id)
    _owned(caller, row, "run")
    if row.state == S.DELETED:
        raise ProblemError(409, f"the schedule {row.id} is deleted: make a new one")
    return submit(
        session, row, caller, now=now, due=None, trigger="run_now", repos=repos, vault=vault
    )
