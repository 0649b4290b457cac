"""Firing schedules: each due one claimed by exactly one job server process, then submitted as
an ordinary job request (or study run) at the branch head, as its owner.

`fire_due(now)` is all the scheduler loop does each tick, so tests drive time by calling it
with the time they choose. A schedule is claimed with one conditional UPDATE of its
`next_due_at` (only while it still holds the value this process read, and only while
active): of several processes on one database, one changes a row and fires, the others
change nothing. A crash after the claim loses that one firing rather than making it twice;
the submission's idempotency key (the schedule and its due time) is a second guard.

A refused submission (the owner lost the right to run jobs, project.yaml invalid at the
head, nothing to do, GitHub unreachable) is a line of the schedule's history with the
refusal's sentence; the schedule stays as it is and the loop goes on.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from ... import schema
from ...schema.schedules import FiringOutcome
from ...schema.states import ScheduleState
from .. import orm
from ..audit import record
from ..callers import Caller
from ..cron import Cron, CronError, due
from ..errors import ProblemError
from ..repos import RepositorySource
from ..security import Vault
from ..transitions import move
from .job_requests import create_job_request
from .runs import create_run

log = logging.getLogger("jupyter_ext.jobserver")
BATCH = 100  # schedules looked at per tick; the rest are due at the next one

UNEXPECTED = "the submission failed unexpectedly: the job server's log says why"


def fire_due(
    factory: sessionmaker,
    repos: RepositorySource,
    vault: Vault,
    now: dt.datetime,
    grace: dt.timedelta,
) -> list[orm.ScheduleFiring]:
    """Fire every active schedule due at `now` that this process claims; what came of each."""
    with factory() as session:
        found = session.execute(
            select(orm.Schedule.id, orm.Schedule.next_due_at)
            .where(
                orm.Schedule.state == ScheduleState.ACTIVE.value,
                orm.Schedule.next_due_at <= now,
            )
            .order_by(orm.Schedule.next_due_at, orm.Schedule.id)
            .limit(BATCH)
        ).all()
    fired = []
    for schedule_id, next_due in found:
        with factory() as session:
            try:
                firing = fire_one(session, schedule_id, next_due, now, grace, repos, vault)
            except Exception:  # one schedule's trouble never stops the others
                session.rollback()
                log.exception("firing the schedule %s failed", schedule_id)
                continue
            if firing is not None:
                fired.append(firing)
    return fired


def claim(session: Session, schedule_id: str, seen: dt.datetime, new: dt.datetime) -> bool:
    """Whether this process fires the firing due at `seen`: one conditional UPDATE, committed."""
    taken = session.execute(
        update(orm.Schedule)
        .where(
            orm.Schedule.id == schedule_id,
            orm.Schedule.next_due_at == seen,
            orm.Schedule.state == ScheduleState.ACTIVE.value,
        )
        .values(next_due_at=new)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.commit()
    return taken == 1


def fire_one(
    session: Session,
    schedule_id: str,
    seen: dt.datetime,
    now: dt.datetime,
    grace: dt.timedelta,
    repos: RepositorySource,
    vault: Vault,
) -> orm.ScheduleFiring | None:
    """The firing of one schedule due at `seen`, if this process claims it."""
    row = session.get(orm.Schedule, schedule_id)
    try:
        what = due(Cron(row.cron, row.timezone), seen, now, row.catch_up == "once", grace)
    except CronError as exc:  # e.g. its time zone left the database: it cannot fire
        move(session, row, ScheduleState.PAUSED, actor="scheduler", audit={"why": str(exc)})
        session.commit()
        return note(session, row, now, None, FiringOutcome.FAILED, f"paused: {exc}")
    if not claim(session, row.id, seen, what.next_due):
        return None
    session.refresh(row)
    if not what.fire:
        said = f"{what.missed} firing{'s' if what.missed != 1 else ''}"
        message = f"{said} missed while the job server was down; this schedule skips them"
        return note(session, row, now, None, FiringOutcome.SKIPPED, message, missed=what.missed)
    owner = Caller(row.created_by, session)
    key = f"schedule:{row.id}:{what.due.isoformat()}"
    try:
        return submit(
            session,
            row,
            owner,
            now=now,
            due=what.due,
            trigger="schedule",
            repos=repos,
            vault=vault,
            missed=what.missed,
            key=key,
        )
    except ProblemError as exc:
        session.rollback()
        nothing = exc.status == 409 and exc.detail.startswith("nothing to do")
        outcome = FiringOutcome.NOTHING_TO_DO if nothing else FiringOutcome.FAILED
        return note(session, row, now, what.due, outcome, exc.detail, missed=what.missed)
    except Exception:
        session.rollback()
        log.exception("the schedule %s could not submit", row.id)
        return note(
            session, row, now, what.due, FiringOutcome.FAILED, UNEXPECTED, missed=what.missed
        )


def submit(
    session: Session,
    row: orm.Schedule,
    caller: Caller,
    *,
    now: dt.datetime,
    due: dt.datetime | None,
    trigger: str,
    repos: RepositorySource,
    vault: Vault,
    missed: int = 0,
    key: str | None = None,
) -> orm.ScheduleFiring:
    """The schedule's submission at the branch head, as `caller`, through the functions POST
    /job-requests and POST /runs use; refused as they refuse, with nothing written."""
    common = {
        "workspace": row.workspace.name,
        "actions": list(row.actions),
        "force_run_dependencies": row.force_run_dependencies,
        "notify": row.notify,
        "parameters": row.parameters or {},
    }
    if len(row.backends) == 1:
        body = schema.JobRequestCreate(backend=row.backends[0], **common)
        made, _ = create_job_request(session, caller, body, repos, vault, key, schedule=row)
        request_id, run_id, message = made.id, None, f"made the job request {made.id}"
    else:
        body = schema.StudyRunCreate(backends=list(row.backends), **common)
        made, _ = create_run(session, caller, body, repos, vault, key, schedule=row)
        sites = ", ".join(row.backends)
        request_id, run_id, message = None, made.id, f"made the study run {made.id} at {sites}"
    if missed:
        message += f"; {missed} earlier firing{'s' if missed != 1 else ''} missed while the job "
        message += "server was down were skipped"
    row.last_fired_at = now
    return note(
        session,
        row,
        now,
        due,
        FiringOutcome.FIRED,
        message,
        missed=missed,
        trigger=trigger,
        actor=caller.name if trigger == "run_now" else "scheduler",
        job_request_id=request_id,
        study_run_id=run_id,
    )


def note(
    session: Session,
    row: orm.Schedule,
    now: dt.datetime,
    due: dt.datetime | None,
    outcome: FiringOutcome,
    message: str,
    *,
    missed: int = 0,
    trigger: str = "schedule",
    actor: str = "scheduler",
    job_request_id: str | None = None,
    study_run_id: str | None = None,
) -> orm.ScheduleFiring:
    """A line of the schedule's history, audited and committed."""
    firing = orm.ScheduleFiring(
        schedule_id=row.id,
        trigger=trigger,
        outcome=outcome.value,
        due_at=due,
        fired_at=now,
        missed=missed,
        job_request_id=job_request_id,
        study_run_id=study_run_id,
        message=message,
        actor=actor,
    )
    session.add(firing)
    after = {
        "outcome": outcome.value,
        "trigger": trigger,
        "due": due.isoformat() if due else None,
        "missed": missed,
        "job_request": job_request_id,
        "run": study_run_id,
    }
    record(session, actor, "schedule.fire", row, after=after)
    session.commit()
    return firing
