"""Leases: which pending jobs a runner takes, and what happens when a runner goes quiet.

A job is leased (pending -> running, `transitions.lease_job`) with one conditional UPDATE,
so two runners never take the same job. A lease lives while heartbeats renew it; the
sweeper (`expire_leases`) fails a job whose lease ran out, or queues it again.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from ... import schema
from ...schema.states import JobState
from .. import github_tokens, orm
from ..dataset_access import NotAllowed, resolve
from ..security import Vault
from ..transitions import lease_job, move

PENDING_PAGE = 500


def lease_jobs(
    session: Session, backend: orm.Backend, capacity: int, lease: dt.timedelta, vault: Vault
) -> list[schema.Lease]:
    """Start what can start: pending jobs of the backend whose dependencies all succeeded.

    A job whose dependency failed or was cancelled fails here, saying which.
    """
    if capacity <= 0:
        return []
    leases: list[schema.Lease] = []
    after = 0
    while len(leases) < capacity:  # page on: blocked jobs must not hide runnable ones
        pending = session.scalars(
            select(orm.Job)
            .where(
                orm.Job.backend_id == backend.id,
                orm.Job.state == JobState.PENDING,
                orm.Job.id > after,
            )
            .order_by(orm.Job.id)
            .limit(PENDING_PAGE)
        ).all()
        if not pending:
            break
        after = pending[-1].id
        leases += _lease_page(session, backend, pending, capacity - len(leases), lease, vault)
    backend.last_seen_at = orm.utcnow()
    session.commit()
    return leases


def _fail_before_start(session: Session, backend: orm.Backend, job: orm.Job, why: str) -> None:
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


def _lease_page(
    session: Session,
    backend: orm.Backend,
    pending: list[orm.Job],
    capacity: int,
    lease: dt.timedelta,
    vault: Vault,
) -> list[schema.Lease]:
    waited = {i for job in pending for i in job.wait_for}
    states = (
        dict(
            session.execute(
                select(orm.Job.identifier, orm.Job.state).where(orm.Job.identifier.in_(waited))
            ).all()
        )
        if waited
        else {}
    )
    leases = []
    for job in pending:
        blocking = [i for i in job.wait_for if states.get(i) != JobState.SUCCEEDED]
        broken = [i for i in blocking if states.get(i) in (JobState.FAILED, JobState.CANCELLED)]
        if broken:
            why = f"the job {broken[0]} it needs did not succeed"
            _fail_before_start(session, backend, job, why)
            continue
        if blocking or len(leases) >= capacity:
            continue
        try:  # asked again now: an approval may have been revoked while the job waited
            datasets = resolve(session, job.job_request.workspace.project, backend, job.datasets)
        except NotAllowed as exc:
            _fail_before_start(session, backend, job, str(exc))
            continue
        expires_at = orm.utcnow() + lease
        if not lease_job(session, job, backend.slug, expires_at):
            continue
        request = job.job_request
        leases.append(
            schema.Lease(
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
                github_token=github_tokens.for_lease(request, vault),  # a saved one: read now
                lease_expires_at=expires_at,
            )
        )
    return leases


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
