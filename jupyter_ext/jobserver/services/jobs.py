"""Jobs as people see them: the event log across the workspaces one may see, a job, its log
and outputs, and cancelling jobs (one, or every job of a request)."""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ...schema.states import JobState
from .. import github_tokens, orm
from ..audit import record
from ..callers import Caller
from ..errors import ProblemError
from ..events import emit_job, wake_backend
from ..permissions import Permission as P
from ..states import FINISHED_JOB_STATES
from ..transitions import move
from ..unreleased import HIDDEN_ON_STATUS, status_only
from .lookup import backend_named, user_named, workspace_named
from .projects import visible_projects


def event_log(
    session: Session,
    caller: Caller,
    *,
    q: str | None = None,
    job_request: str | None = None,
    run: str | None = None,
    backend: str | None = None,
    status: JobState | None = None,
    user: str | None = None,
    workspace: str | None = None,
    before: int | None = None,
    limit: int,
) -> list[int]:
    """Ids of jobs newest first, filtered, older than `before`; only of projects the caller
    may view. Ids first: a face loads the rows of its page after, by id (`jobs_by_id`)."""
    query = select(orm.Job.id)
    if not caller.can(P.PROJECT_VIEW):
        projects = visible_projects(caller).with_only_columns(orm.Project.id)
        workspaces = select(orm.Workspace.id).where(orm.Workspace.project_id.in_(projects))
        query = query.where(orm.Job.workspace_id.in_(workspaces))
    if q:
        query = query.where(
            or_(
                orm.Job.action.icontains(q, autoescape=True),
                orm.Job.identifier.startswith(q.lower(), autoescape=True),
            )
        )
    if job_request:
        query = query.where(orm.Job.job_request_id == job_request)
    if run:
        parts = select(orm.JobRequest.id).where(orm.JobRequest.study_run_id == run)
        query = query.where(orm.Job.job_request_id.in_(parts))
    if backend:
        query = query.where(orm.Job.backend_id == backend_named(session, backend).id)
    if status:
        query = query.where(orm.Job.state == status.value)
    if user:
        query = query.where(orm.Job.created_by_id == user_named(session, user).id)
    if workspace:
        query = query.where(orm.Job.workspace_id == workspace_named(session, workspace).id)
    if before is not None:
        query = query.where(orm.Job.id < before)
    return list(session.scalars(query.order_by(orm.Job.id.desc()).limit(limit)))


def jobs_by_id(session: Session, ids: list[int]) -> list[orm.Job]:
    """The rows of `ids`, newest first."""
    return list(
        session.scalars(select(orm.Job).where(orm.Job.id.in_(ids)).order_by(orm.Job.id.desc()))
    )


def job_for(
    session: Session, caller: Caller, identifier: str, needed: P = P.PROJECT_VIEW
) -> orm.Job:
    """The job, if the caller has `needed` in its project (a 404 if there is none)."""
    job = session.scalar(select(orm.Job).where(orm.Job.identifier == identifier))
    if job is None:
        raise ProblemError(404, f"there is no job {identifier!r}, or you may not see it")
    caller.require(needed, job.job_request.workspace.project)
    return job


def log_lines(session: Session, job: orm.Job, after: int, limit: int) -> list[orm.LogLine]:
    return list(
        session.scalars(
            select(orm.LogLine)
            .where(orm.LogLine.job_id == job.id, orm.LogLine.seq > after)
            .order_by(orm.LogLine.seq)
            .limit(limit)
        )
    )


def outputs(session: Session, caller: Caller, identifier: str) -> list[orm.JobOutput]:
    """What the job produced, as its runner recorded it, for those who may see unreleased
    outputs. On a backend whose log policy is "status", highly sensitive outputs are never
    shown, whatever its runner sent."""
    job = job_for(session, caller, identifier, P.OUTPUTS_VIEW_UNRELEASED)
    query = select(orm.JobOutput).where(orm.JobOutput.job_id == job.id)
    if status_only(job.job_request.backend):
        query = query.where(orm.JobOutput.privacy_level != HIDDEN_ON_STATUS)
    return list(session.scalars(query.order_by(orm.JobOutput.path)))


def cancel_jobs(session: Session, caller: Caller, jobs: list[orm.Job]) -> list[orm.Job]:
    """Pending jobs end now; running ones are asked to stop (their runner is told at its next
    heartbeat). Each is audited as job.cancel and emitted; the jobs that changed."""
    actor = caller.user
    changed = []
    for job in jobs:
        if job.state in FINISHED_JOB_STATES or job.cancel_requested:
            continue
        job.cancel_requested, job.cancelled_by_id = True, actor.id
        job.cancelled_by = actor
        if job.state == JobState.PENDING:
            move(
                session,
                job,
                JobState.CANCELLED,
                actor=caller.name,
                action="job.cancel",
                completed_at=orm.utcnow(),
                status_message=f"cancelled by {actor.username}",
            )
            github_tokens.forget_when_finished(job.job_request)
        else:  # still running: only asked to stop, its state is its runner's to report
            job.status_message = f"cancelling (asked by {actor.username})"
            record(session, caller.name, "job.cancel", job, after={"state": job.state})
            emit_job(session, job)
        changed.append(job)
    return changed


def cancel_job(session: Session, caller: Caller, identifier: str) -> orm.Job:
    job = job_for(session, caller, identifier, P.JOB_CANCEL)
    if not cancel_jobs(session, caller, [job]):
        raise ProblemError(
            409, f"the job {identifier} has finished ({job.state}): nothing to cancel"
        )
    wake_backend(session, job.backend_id)
    session.commit()
    return job
