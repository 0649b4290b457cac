"""The one way a state changes: `move()` checks the machine's table, writes, audits, emits.

Every state machine of the job server (job, application, release, release file, dataset
access, schedule) is a table in `states.py`; this module is the only code that assigns a `state`
(`tests/test_architecture.py` keeps it so). A move the table refuses is a 409 that says
what the thing can become, and nothing is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ..schema.states import JobState
from . import orm
from .audit import record
from .events import emit_job, emit_release
from .states import advance

MACHINES: dict[type, str] = {
    orm.Job: "job",
    orm.Application: "application",
    orm.Release: "release",
    orm.ReleaseFile: "release_file",
    orm.DatasetAccess: "dataset_access",
    orm.Schedule: "schedule",
}

# Who hears of a move, by machine: the live streams of the thing's workspace.
EMITTERS: dict[str, Callable[[Session, Any], None]] = {
    "job": emit_job,
    "release": emit_release,
}


def move(
    session: Session,
    row: Any,
    new: str,
    *,
    actor: str,
    action: str | None = None,
    audit: dict[str, Any] | None = None,
    emit: bool = True,
    **changes: Any,
) -> None:
    """`row` becomes `new` (with `changes` to its other columns) if its machine allows it.

    The audit event is `action` (default `<machine>.<new>`) by `actor`, its after holding
    the new state and `audit`; `emit=False` when the caller emits once for several moves.
    """
    machine = MACHINES[type(row)]
    before = {"state": row.state}
    row.state = advance(machine, row.state, str(new))
    for column, value in changes.items():
        setattr(row, column, value)
    record(
        session,
        actor,
        action or f"{machine}.{row.state}",
        row,
        before,
        {"state": row.state, **(audit or {})},
    )
    if emit and machine in EMITTERS:
        EMITTERS[machine](session, row)


def lease_job(session: Session, job: orm.Job, runner: str, expires_at: dt.datetime) -> bool:
    """The job machine's pending -> running, for the runner of the backend `runner`: one
    conditional UPDATE (only while it is still pending), so two runners polling at once never
    take the same job. Audited as job.start and emitted like `move`; False if it was not
    pending any more (another runner took it, or it was cancelled), or, on PostgreSQL, if
    another transaction holds it: polls never wait on each other's jobs, so polls in several
    processes, each taking jobs in its own order, cannot deadlock."""
    now = orm.utcnow()
    free = orm.Job.__table__.alias("free")
    unheld = (
        select(free.c.id)
        .where(free.c.id == job.id, free.c.state == JobState.PENDING)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    taken = session.execute(
        update(orm.Job)
        .where(orm.Job.id == unheld, orm.Job.state == JobState.PENDING)
        .values(
            state=JobState.RUNNING,
            started_at=now,
            lease_expires_at=expires_at,
            runner=runner,
            status_message=f"started on {runner}",
        )
    ).rowcount
    if not taken:
        return False
    session.refresh(job)
    before, after = {"state": JobState.PENDING.value}, {"state": JobState.RUNNING.value}
    record(session, f"runner:{runner}", "job.start", job, before, after)
    emit_job(session, job)
    return True
