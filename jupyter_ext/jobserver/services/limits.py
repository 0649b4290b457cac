"""A project's share of a backend: its concurrency cap and its jobs-per-day quota.

An administrator sets them (`put_limits`, over the API or `jupyter ext admin limits`); the
lease holds back a project's jobs at its cap (`services.leasing`), and a job request that
would take the project over its quota is refused before anything is written (`check_quota`,
asked by `job_requests.write_job_request`, so job requests, study runs and schedules'
firings alike). `read_quota` reads the same figures and sentence without refusing, for the
run-jobs page's plan, so what the plan says is what the submission meets.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ... import schema
from ...schema.states import JobState
from .. import orm
from ..audit import record
from ..callers import Caller
from ..errors import ProblemError
from ..permissions import Permission as P
from .lookup import backend_named, project_named

DAY = dt.timedelta(hours=24)


def put_limits(
    session: Session, actor: str, project: str, backend: str, body: schema.ProjectLimitSet
) -> schema.ProjectLimit:
    """`project` may run at most `max_running` jobs at once on `backend` and ask for at most
    `jobs_per_day` there in any 24 hours (None: no such limit). Audited, committed."""
    project_row, backend_row = project_named(session, project), backend_named(session, backend)
    row = session.get(orm.ProjectBackendLimit, (project_row.id, backend_row.id))
    before = _limits(row) if row is not None else None
    after = {"backend": backend_row.slug, **body.model_dump()}
    if body.max_running is None and body.jobs_per_day is None:
        if row is not None:
            session.delete(row)
    else:
        if row is None:
            row = orm.ProjectBackendLimit(project_id=project_row.id, backend_id=backend_row.id)
            session.add(row)
        row.max_running, row.jobs_per_day = body.max_running, body.jobs_per_day
        row.updated_at = orm.utcnow()
    record(session, actor, "project.limits.set", project_row, before, after)
    session.commit()
    return _shown(session, project_row, backend_row, row if row in session else None)


def set_limits(
    session: Session, caller: Caller, project: str, backend: str, body: schema.ProjectLimitSet
) -> schema.ProjectLimit:
    caller.require(P.BACKEND_MANAGE)
    return put_limits(session, caller.name, project, backend, body)


def list_limits(session: Session, caller: Caller, project: str) -> list[schema.ProjectLimit]:
    """The project's limits on each backend its organisation may use, with what it uses of
    them now: what its members see."""
    row = project_named(session, project)
    caller.require(P.PROJECT_VIEW, row)
    limits = {
        limit.backend_id: limit
        for limit in session.scalars(
            select(orm.ProjectBackendLimit).where(orm.ProjectBackendLimit.project_id == row.id)
        )
    }
    backends = sorted(row.org.backends, key=lambda b: b.slug)
    return [_shown(session, row, b, limits.get(b.id)) for b in backends]


def limits_at(session: Session, project: str, backend: str) -> schema.ProjectLimit:
    """The project's limits on the backend as they stand (for whoever sets them)."""
    project_row, backend_row = project_named(session, project), backend_named(session, backend)
    row = session.get(orm.ProjectBackendLimit, (project_row.id, backend_row.id))
    return _shown(session, project_row, backend_row, row)


def _limits(row: orm.ProjectBackendLimit) -> dict[str, int | None]:
    return {"max_running": row.max_running, "jobs_per_day": row.jobs_per_day}


def _shown(
    session: Session,
    project: orm.Project,
    backend: orm.Backend,
    row: orm.ProjectBackendLimit | None,
) -> schema.ProjectLimit:
    return schema.ProjectLimit(
        project=project.slug,
        backend=backend.slug,
        max_running=row.max_running if row else None,
        jobs_per_day=row.jobs_per_day if row else None,
        running=running_jobs(session, project.id, backend.id),
        jobs_last_day=_jobs_since(session, project.id, backend.id, orm.utcnow() - DAY),
        updated_at=row.updated_at if row else None,
    )


def _in_project(project_id: int):
    return select(orm.Workspace.id).where(orm.Workspace.project_id == project_id)


def running_jobs(session: Session, project_id: int, backend_id: int) -> int:
    """How many of the project's jobs run on the backend now (as committed, read afresh)."""
    return session.scalar(
        select(func.count())
        .select_from(orm.Job)
        .where(
            orm.Job.workspace_id.in_(_in_project(project_id)),
            orm.Job.backend_id == backend_id,
            orm.Job.state == JobState.RUNNING,
        )
    )


def _asked_since(project_id: int, backend_id: int, since: dt.datetime) -> tuple:
    return (
        orm.Job.workspace_id.in_(_in_project(project_id)),
        orm.Job.backend_id == backend_id,
        orm.Job.created_at >= since,
    )


def _jobs_since(session: Session, project_id: int, backend_id: int, since: dt.datetime) -> int:
    """How many jobs the project asked for on the backend since `since`."""
    where = _asked_since(project_id, backend_id, since)
    return session.scalar(select(func.count()).select_from(orm.Job).where(*where))


@dataclass(frozen=True)
class Quota:
    """A project's limits on a backend, what it uses of them, and what a request of `asking`
    jobs there would do: the run-jobs page's preview shows it, `check_quota` refuses with it."""

    project: str
    backend: str
    asking: int  # jobs the request would make there
    max_running: int | None = None  # its cap (None: none)
    running: int | None = None  # its jobs running there now (counted under a cap)
    jobs_per_day: int | None = None  # its quota (None: none)
    jobs_last_day: int | None = None  # jobs asked for there in the last 24 hours (under a quota)
    refusal: str | None = None  # the 409's sentence, if the request would go over the quota


def read_quota(
    session: Session,
    project: orm.Project,
    backend: orm.Backend,
    asking: int,
    now: dt.datetime | None = None,
) -> Quota:
    """The project's cap and quota on the backend with what it uses of them, and whether a
    request of `asking` jobs would go over the quota (said in `refusal`), raising nothing:
    the jobs asked for there in the last 24 hours and these together. Every job counts,
    however it ended."""
    found = Quota(project.slug, backend.slug, asking)
    limit = session.execute(
        select(orm.ProjectBackendLimit.max_running, orm.ProjectBackendLimit.jobs_per_day).where(
            orm.ProjectBackendLimit.project_id == project.id,
            orm.ProjectBackendLimit.backend_id == backend.id,
        )
    ).first()
    if limit is None:
        return found
    cap, quota = limit
    if cap is not None:
        found = replace(
            found, max_running=cap, running=running_jobs(session, project.id, backend.id)
        )
    if quota is None:
        return found
    since = (now or orm.utcnow()) - DAY
    asked = _jobs_since(session, project.id, backend.id, since)
    found = replace(found, jobs_per_day=quota, jobs_last_day=asked)
    over = asked + asking - quota
    if asking <= 0 or over <= 0:
        return found
    said = (
        f"the project {project.slug} may run {quota} jobs a day on {backend.slug}; "
        f"{asked} were asked for in the last 24 hours and this request makes {asking}"
    )
    if asking > quota:
        return replace(found, refusal=f"{said}: ask for fewer actions, {quota} jobs at most")
    frees = session.scalar(  # once the `over` oldest of the window have left it
        select(orm.Job.created_at)
        .where(*_asked_since(project.id, backend.id, since))
        .order_by(orm.Job.created_at, orm.Job.id)
        .offset(over - 1)
        .limit(1)
    )
    wait = f"{said}: ask for fewer actions, or wait until {_minute(frees + DAY)}"
    return replace(found, refusal=wait)


def check_quota(
    session: Session,
    project: orm.Project,
    backend: orm.Backend,
    new_jobs: int,
    now: dt.datetime | None = None,
) -> None:
    """Refuse (409, saying when it may) a request of `new_jobs` jobs that would take the
    project over its jobs-per-day quota on the backend (`read_quota` says why)."""
    if new_jobs <= 0:
        return
    refusal = read_quota(session, project, backend, new_jobs, now).refusal
    if refusal is not None:
        raise ProblemError(409, refusal)


def _minute(at: dt.datetime) -> str:
    """`at` in UTC to the minute, rounded up (a reader waiting until then is not early)."""
    at = at.astimezone(dt.UTC)
    if at.second or at.microsecond:
        at = at.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    return at.strftime("%Y-%m-%d %H:%M UTC")
