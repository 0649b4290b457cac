"""A schedule and its firings as the API shows them: the next firings, and the next said in
its own time zone ("Mon 07 Dec 06:00 Europe/London") so a face need not compute it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from .. import schema
from . import orm
from .cron import Cron, CronError, in_words

SHOWN = 3  # next firings a schedule shows


def next_firings(row: orm.Schedule, count: int = SHOWN) -> list[dt.datetime]:
    """Its next firings (UTC) while active: the one due, then the cron's."""
    if row.state != schema.ScheduleState.ACTIVE:
        return []
    try:
        return [row.next_due_at, *Cron(row.cron, row.timezone).firings(row.next_due_at, count - 1)]
    except CronError:
        return [row.next_due_at]


def said(moment: dt.datetime | None, timezone: str) -> str | None:
    if moment is None:
        return None
    try:
        local = moment.astimezone(ZoneInfo(timezone))
    except (KeyError, ValueError):
        return f"{moment:%a %d %b %H:%M} UTC"
    return f"{local:%a %d %b %H:%M} {timezone}"


def schedule(row: orm.Schedule) -> schema.Schedule:
    upcoming = next_firings(row)
    return schema.Schedule(
        id=row.id,
        workspace=row.workspace.name,
        project=row.workspace.project.slug,
        title=row.title,
        description=row.description,
        actions=row.actions,
        backends=row.backends,
        force_run_dependencies=row.force_run_dependencies,
        notify=row.notify,
        parameters=row.parameters or {},
        cron=row.cron,
        timezone=row.timezone,
        when=in_words(row.cron),
        catch_up=row.catch_up,
        state=row.state,
        next_firings=upcoming,
        next_said=said(upcoming[0], row.timezone) if upcoming else None,
        last_fired_at=row.last_fired_at,
        created_by=row.created_by.username,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def firing(row: orm.ScheduleFiring) -> schema.ScheduleFiring:
    return schema.ScheduleFiring(
        id=row.id,
        schedule=row.schedule_id,
        trigger=row.trigger,
        outcome=row.outcome,
        due_at=row.due_at,
        fired_at=row.fired_at,
        missed=row.missed,
        job_request=row.job_request_id,
        run=row.study_run_id,
        message=row.message,
        actor=row.actor,
    )
