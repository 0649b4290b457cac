"""The event log of jobs across the workspaces one may see, a job, and its log."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from sqlalchemy import or_, select

from ... import schema
from ...schema.states import JobState
from .. import orm, views
from ..audit import record
from ..deps import CallerDep, SessionDep, permission
from ..errors import ProblemError
from ..events import emit_job, wake_backend
from ..pagination import DEFAULT_LIMIT, INT32_MAX, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..unreleased import HIDDEN_ON_STATUS, status_only
from ._common import backend_named, user_named, workspace_named
from .job_requests import cancel_jobs
from .projects import visible_projects

router = APIRouter(tags=["jobs"])


@router.get("/jobs", openapi_extra=permission(P.SIGNED_IN))
def event_log(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    q: str | None = Query(None, max_length=200, description="Part of an action or job identifier."),
    job_request: str | None = None,
    backend: str | None = None,
    status: JobState | None = None,
    user: str | None = None,
    workspace: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.Job]:
    """Jobs newest first, filtered; only those of projects the caller may view."""
    query = select(orm.Job.id)  # ids first: the page's rows are loaded after, by id
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
    if backend:
        query = query.where(orm.Job.backend_id == backend_named(session, backend).id)
    if status:
        query = query.where(orm.Job.state == status.value)
    if user:
        query = query.where(orm.Job.created_by_id == user_named(session, user).id)
    if workspace:
        query = query.where(orm.Job.workspace_id == workspace_named(session, workspace).id)
    if (before := decode_cursor(cursor)) is not None:
        query = query.where(orm.Job.id < before)
    ids = session.scalars(query.order_by(orm.Job.id.desc()).limit(limit + 1)).all()
    ids, next_url = page(request, ids, limit, lambda i: i)
    rows = session.scalars(select(orm.Job).where(orm.Job.id.in_(ids)).order_by(orm.Job.id.desc()))
    return schema.Page(items=[views.job(j) for j in rows], next=next_url)


def _job(caller, session, identifier: str, permission_needed: P = P.PROJECT_VIEW) -> orm.Job:
    job = session.scalar(select(orm.Job).where(orm.Job.identifier == identifier))
    if job is None:
        raise ProblemError(404, f"there is no job {identifier!r}, or you may not see it")
    caller.require(permission_needed, job.job_request.workspace.project)
    return job


@router.get("/jobs/{identifier}", openapi_extra=permission(P.PROJECT_VIEW, "project"))
def get_job(identifier: str, caller: CallerDep, session: SessionDep) -> schema.Job:
    return views.job(_job(caller, session, identifier))


@router.get("/jobs/{identifier}/logs", openapi_extra=permission(P.PROJECT_VIEW, "project"))
def get_logs(
    identifier: str,
    caller: CallerDep,
    session: SessionDep,
    after: int = Query(-1, ge=-1, le=INT32_MAX, description="Only lines after this number."),
    limit: int = Query(1000, ge=1, le=10_000),
) -> list[schema.LogLine]:
    job = _job(caller, session, identifier)
    rows = session.scalars(
        select(orm.LogLine)
        .where(orm.LogLine.job_id == job.id, orm.LogLine.seq > after)
        .order_by(orm.LogLine.seq)
        .limit(limit)
    )
    return [schema.LogLine(seq=r.seq, text=r.text, at=r.at) for r in rows]


@router.get(
    "/jobs/{identifier}/outputs", openapi_extra=permission(P.OUTPUTS_VIEW_UNRELEASED, "project")
)
def get_outputs(identifier: str, caller: CallerDep, session: SessionDep) -> list[schema.Output]:
    """What the job produced, as its runner recorded it (the files stay on the backend), with
    what the site's pre-release rules found in each: fixed before anyone asks for a release.

    Unreleased outputs' names, sizes, rows, columns and findings are for those who may see
    unreleased outputs. On a backend whose log policy is "status", highly sensitive outputs
    are never shown, whatever its runner sent."""
    job = _job(caller, session, identifier, P.OUTPUTS_VIEW_UNRELEASED)
    query = select(orm.JobOutput).where(orm.JobOutput.job_id == job.id)
    if status_only(job.job_request.backend):
        query = query.where(orm.JobOutput.privacy_level != HIDDEN_ON_STATUS)
    return [
        schema.Output(
            path=r.path, size=r.size, sha256=r.sha256, privacy_level=r.privacy_level, check=r.check
        )
        for r in session.scalars(query.order_by(orm.JobOutput.path))
    ]


@router.post("/jobs/{identifier}/cancel", openapi_extra=permission(P.JOB_CANCEL, "project"))
def cancel_job(identifier: str, caller: CallerDep, session: SessionDep) -> schema.Job:
    job = _job(caller, session, identifier, P.JOB_CANCEL)
    if not cancel_jobs(session, caller.user, [job]):
        raise ProblemError(
            409, f"the job {identifier} has finished ({job.state}): nothing to cancel"
        )
    record(session, caller.name, "job.cancel", job, after={"state": job.state})
    emit_job(session, job)
    wake_backend(session, job.backend_id)
    session.commit()
    return views.job(job)
