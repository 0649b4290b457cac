"""What jobs used, summed per project, backend or user over the jobs that ended in a range.

The figures are the runners' (`schema.JobUsage`, kept as columns of each job when it ends,
`runner_reports.report_status`), so the sums are one GROUP BY over the jobs: a job is in
the range by the day it ended (UTC), both ends included. CPU seconds, wall seconds and
bytes written are summed; peak memory is the largest peak of any one job (a sum of peaks
means nothing). Jobs whose runner sent no figures (older runners, jobs ended before this
was recorded) are counted in `jobs` but not in `measured`, so a sum says how much it
covers.

For administrators only (`usage_view`, granted to core developers): a project's usage
says how busy its people are, and a backend's how loaded a site is.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ... import schema
from ...schema.usage import USAGE_GROUPS
from .. import orm
from ..callers import Caller
from ..errors import ProblemError
from ..permissions import Permission as P

DAY = dt.timedelta(days=1)


def _key(group: str):
    """The column a group is named by, and the joins from a job to it."""
    if group == "project":
        return orm.Project.slug, [
            (orm.Workspace, orm.Workspace.id == orm.Job.workspace_id),
            (orm.Project, orm.Project.id == orm.Workspace.project_id),
        ]
    if group == "backend":
        return orm.Backend.slug, [(orm.Backend, orm.Backend.id == orm.Job.backend_id)]
    if group == "user":
        return orm.User.username, [(orm.User, orm.User.id == orm.Job.created_by_id)]
    raise ProblemError(422, f"group by one of {', '.join(USAGE_GROUPS)}, not {group!r}")


def usage(
    session: Session,
    caller: Caller,
    *,
    group: str,
    since: dt.date | None,
    until: dt.date | None,
) -> list[schema.UsageRow]:
    """The sums per `group` over the jobs that ended from `since` to `until` (UTC days, both
    included; either may be open), by name; a 403 for anyone but an administrator."""
    caller.require(P.USAGE_VIEW)
    if since and until and since > until:
        raise ProblemError(422, f"the range starts ({since}) after it ends ({until}): swap them")
    name, joins = _key(group)
    job = orm.Job
    query = select(
        name,
        func.count(job.id),
        func.count(job.wall_seconds),
        func.coalesce(func.sum(job.cpu_seconds), 0.0),
        func.coalesce(func.sum(job.wall_seconds), 0.0),
        func.max(job.peak_memory_bytes),
        func.coalesce(func.sum(job.bytes_written), 0),
    ).select_from(job)
    for table, on in joins:
        query = query.join(table, on)
    query = query.where(job.completed_at.is_not(None))
    if since is not None:
        query = query.where(job.completed_at >= _midnight(since))
    if until is not None:
        query = query.where(job.completed_at < _midnight(until + DAY))
    rows = session.execute(query.group_by(name).order_by(name)).all()
    return [
        schema.UsageRow(
            group=group,
            name=row[0],
            jobs=row[1],
            measured=row[2],
            cpu_seconds=float(row[3]),
            wall_seconds=float(row[4]),
            peak_memory_bytes=row[5],
            bytes_written=int(row[6]),
        )
        for row in rows
    ]


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)
