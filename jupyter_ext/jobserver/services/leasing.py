"""Leases: which pending jobs a runner takes, and what happens when a runner goes quiet.

A job is leased (pending -> running, `transitions.lease_job`) with one conditional UPDATE,
so two runners never take the same job. A lease lives while heartbeats renew it; the
sweeper (`expire_leases`) fails a job whose lease ran out, or queues it again.

A backend's free capacity goes to projects in turn (`in_turn`), not first come, first
served: one project's 500-job request does not hold the backend while others wait. A
project at its cap on the backend (`services.limits`) takes nothing more there.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.orm import Session, lazyload, sessionmaker

from ... import schema
from ...schema.states import JobState
from .. import github_tokens, orm
from ..dataset_access import NotAllowed, resolve
from ..security import Vault
from ..transitions import lease_job, move
from .limits import running_jobs

PENDING_PAGE = 500


def in_turn(pending, running) -> tuple:
    """Projects take turns: a job's turn is its place among its project's pending jobs on the
    backend (oldest first) plus the project's jobs running there now, so each free slot goes
    to the project with the fewest jobs running and waiting ahead of this one; a tie to the
    project waiting longest, then the older job. Leasing a project's next job leaves its
    other jobs' turns as they were (one fewer ahead, one more running): one order serves a
    whole poll."""
    turn = pending.c.place + func.coalesce(running.c.running, 0)
    return (turn, pending.c.since, pending.c.job_id)


def first_come(pending, running) -> tuple:
    """First come, first served: the order before fair share (kept for its benchmark)."""
    return (pending.c.job_id,)


def pending_page(
    session: Session, backend_id: int, after: tuple | None, order: Callable = in_turn
) -> list:
    """One page of the backend's pending jobs in `order`, after `after` (the last page's
    last key): (job, its project, the project's jobs running there, its cap there, key).
    One query: the projects at their cap are left out. The caller skips the blocked ones."""
    project = orm.Workspace.project_id
    on_workspace = orm.Workspace.id == orm.Job.workspace_id
    running = (
        select(project.label("project_id"), func.count().label("running"))
        .select_from(orm.Job)
        .join(orm.Workspace, on_workspace)
        .where(orm.Job.backend_id == backend_id, orm.Job.state == JobState.RUNNING)
        .group_by(project)
        .subquery("running")
    )
    pending = (
        select(
            orm.Job.id.label("job_id"),
            project.label("project_id"),
            func.row_number().over(partition_by=project, order_by=orm.Job.id).label("place"),
            func.min(orm.Job.id).over(partition_by=project).label("since"),
        )
        .select_from(orm.Job)
        .join(orm.Workspace, on_workspace)
        .where(orm.Job.backend_id == backend_id, orm.Job.state == JobState.PENDING)
        .subquery("pending")
    )
    limit = orm.ProjectBackendLimit
    now_running = func.coalesce(running.c.running, 0)
    key = order(pending, running)
    query = (
        select(orm.Job, pending.c.project_id, now_running, limit.max_running, *key)
        .join(pending, pending.c.job_id == orm.Job.id)
        .outerjoin(running, running.c.project_id == pending.c.project_id)
        .outerjoin(
            limit, and_(limit.project_id == pending.c.project_id, limit.backend_id == backend_id)
        )
        .where(or_(limit.max_running.is_(None), now_running < limit.max_running))
        .order_by(*key)
        .limit(PENDING_PAGE)
        .options(lazyload(orm.Job.job_request))  # read for the jobs leased only
    )
    if after is not None:
        query = query.where(tuple_(*key) > tuple_(*after))
    return [(r[0], r[1], r[2], r[3], tuple(r[4:])) for r in session.execute(query)]


def lease_jobs(
    session: Session,
    backend: orm.Backend,
    capacity: int,
    lease: dt.timedelta,
    vault: Vault,
    *,
    order: Callable = in_turn,
) -> list[schema.Lease]:
    """Start what can start: pending jobs of the backend whose dependencies all succeeded,
    projects in turn (`order`), none beyond its project's cap.

    A job whose dependency failed or was cancelled fails here, saying which.
    """
    if capacity <= 0:
        return []
    poll = _Poll(session, backend, capacity, lease, vault)
    after = None
    while len(poll.leases) < capacity:  # page on: blocked jobs must not hide runnable ones
        rows = pending_page(session, backend.id, after, order)
        if not rows:
            break
        # a job failed here moves its project's later jobs forward, maybe behind the
        # cursor: look again from the start then (each time, one job fewer is pending)
        after = None if poll.take(rows) else rows[-1][4]
    backend.last_seen_at = orm.utcnow()
    session.commit()
    return poll.leases


def _fail_before_start(session: Session, backend: orm.Backend, job: orm.Job, why: str) -> bool:
    """Fail a job that cannot start; False if another poll holds it (it will fail it)."""
    mine = session.scalar(  # without waiting: polls in other processes never wait on each other
        select(orm.Job.id)
        .where(orm.Job.id == job.id, orm.Job.state == JobState.PENDING)
        .with_for_update(skip_locked=True)
    )
    if mine is None:
        return False
    move(
        session,
        job,
        JobState.FAILED,
        actor=f"runner:{backend.slug}",
        action="job.fail",
        completed_at=orm.utcnow(),
        status_message=f"not started: {why}",
    )
    github_tokens.forget_when_finished(job.job_request)
    return True


class _Poll:
    """One poll's leases, and what it holds of each capped project's turn."""

    def __init__(self, session, backend, capacity, lease, vault) -> None:
        self.session, self.backend, self.capacity = session, backend, capacity
        self.lease, self.vault = lease, vault
        self.leases: list[schema.Lease] = []
        self.taken: Counter[int] = Counter()  # project -> jobs leased in this poll
        self.running: dict[int, int | None] = {}  # capped project -> running, None: not ours

    def take(self, rows: list) -> bool:
        """Lease what is runnable of one page, in its order; whether any job failed."""
        session, backend = self.session, self.backend
        waited = {i for job, *_ in rows for i in job.wait_for}
        states = (
            dict(
                session.execute(
                    select(orm.Job.identifier, orm.Job.state).where(orm.Job.identifier.in_(waited))
                ).all()
            )
            if waited
            else {}
        )
        failed = False
        for job, project_id, _, cap, _ in rows:
            blocking = [i for i in job.wait_for if states.get(i) != JobState.SUCCEEDED]
            broken = [i for i in blocking if states.get(i) in (JobState.FAILED, JobState.CANCELLED)]
            if broken:
                why = f"the job {broken[0]} it needs did not succeed"
                failed |= _fail_before_start(session, backend, job, why)
                continue
            if blocking or len(self.leases) >= self.capacity:
                continue
            if cap is not None and not self._room(project_id, cap):
                continue
            try:  # asked again now: an approval may have been revoked while the job waited
                project = job.job_request.workspace.project
                datasets = resolve(session, project, backend, job.datasets)
            except NotAllowed as exc:
                failed |= _fail_before_start(session, backend, job, str(exc))
                continue
            expires_at = orm.utcnow() + self.lease
            if not lease_job(session, job, backend.slug, expires_at):
                continue
            self.taken[project_id] += 1
            self.leases.append(_lease(job, datasets, expires_at, self.vault))
        return failed

    def _room(self, project_id: int, cap: int) -> bool:
        """Whether the capped project may have one more job running on the backend. Its turn
        is held (its limit row locked, PostgreSQL) from its first lease to the commit, and
        its running jobs counted afresh then, so polls in other processes never lease past
        its cap together; a poll that finds the turn held by another leaves it be."""
        if project_id not in self.running:
            limit = orm.ProjectBackendLimit
            held = self.session.scalar(
                select(limit.project_id)
                .where(limit.project_id == project_id, limit.backend_id == self.backend.id)
                .with_for_update(skip_locked=True)
            )
            self.running[project_id] = (
                running_jobs(self.session, project_id, self.backend.id)
                if held is not None
                else None
            )
        running = self.running[project_id]
        return running is not None and running + self.taken[project_id] < cap


def _lease(job: orm.Job, datasets, expires_at: dt.datetime, vault: Vault) -> schema.Lease:
    request = job.job_request
    return schema.Lease(
        identifier=job.identifier,
        job_request=request.id,
        workspace=request.workspace.name,
        action=job.action,
        repo=request.workspace.repo,
        sha=request.sha,
        run=job.run,
        needs=job.needs,
        wait_for=job.wait_for,
        outputs=job.outputs_spec,
        requires_db=job.requires_db,
        datasets=datasets,
        parameters=job.parameters or {},
        resources=job.resources,
        github_token=github_tokens.for_lease(request, vault),  # a saved one: read now
        lease_expires_at=expires_at,
    )


def renew_leases(session: Session, backend: orm.Backend, running: list[str], lease: dt.timedelta):
    """A heartbeat: the backend's running jobs its runner still reports keep their lease for
    `lease` more; the identifiers of those someone asked to cancel."""
    now = orm.utcnow()
    jobs = session.scalars(
        select(orm.Job).where(orm.Job.backend_id == backend.id, orm.Job.state == JobState.RUNNING)
    ).all()
    reported = set(running)
    for job in jobs:
        if job.identifier in reported:
            job.lease_expires_at = now + lease
    return [j.identifier for j in jobs if j.cancel_requested]


def expire_leases(factory: sessionmaker, requeue: bool) -> int:
    """Jobs whose runner stopped renewing their lease: fail them, or (`requeue`) queue them
    again for any runner of their backend. How many there were."""
    with factory() as session:
        now = orm.utcnow()
        jobs = session.scalars(
            select(orm.Job).where(orm.Job.state == JobState.RUNNING, orm.Job.lease_expires_at < now)
        ).all()
        for job in jobs:
            if requeue:
                new, changes = JobState.PENDING, {"runner": None, "started_at": None}
                changes["status_message"] = "queued again: its runner stopped reporting"
            else:
                new, changes = JobState.FAILED, {"completed_at": now}
                changes["status_message"] = "failed: its runner stopped reporting (lease expired)"
            move(session, job, new, actor="system", lease_expires_at=None, **changes)
            github_tokens.forget_when_finished(job.job_request)  # if that was its last job
        session.commit()
        return len(jobs)
