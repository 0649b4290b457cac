"""The event log of jobs across the workspaces one may see, a job, its log and outputs, and
cancelling it (the rules: `services/jobs.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from ... import schema
from ...schema.states import JobState
from .. import views
from ..callers import Caller
from ..deps import SessionDep, requires
from ..pagination import DEFAULT_LIMIT, INT32_MAX, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..services import jobs

router = APIRouter(tags=["jobs"])


@router.get("/jobs")
def event_log(
    request: Request,
    caller: Annotated[Caller, requires(P.SIGNED_IN)],
    session: SessionDep,
    q: str | None = Query(None, max_length=200, description="Part of an action or job identifier."),
    job_request: str | None = None,
    run: str | None = Query(None, description="A study run: the jobs of all its sites."),
    backend: str | None = None,
    status: JobState | None = None,
    user: str | None = None,
    workspace: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.Job]:
    """Jobs newest first, filtered; only those of projects the caller may view."""
    ids = jobs.event_log(
        session,
        caller,
        q=q,
        job_request=job_request,
        run=run,
        backend=backend,
        status=status,
        user=user,
        workspace=workspace,
        before=decode_cursor(cursor),
        limit=limit + 1,
    )
    ids, next_url = page(request, ids, limit, lambda i: i)
    return schema.Page(items=[views.job(j) for j in jobs.jobs_by_id(session, ids)], next=next_url)


@router.get("/jobs/{identifier}")
def get_job(
    identifier: str,
    caller: Annotated[Caller, requires(P.PROJECT_VIEW, "project")],
    session: SessionDep,
) -> schema.Job:
    return views.job(jobs.job_for(session, caller, identifier))


@router.get("/jobs/{identifier}/logs")
def get_logs(
    identifier: str,
    caller: Annotated[Caller, requires(P.PROJECT_VIEW, "project")],
    session: SessionDep,
    after: int = Query(-1, ge=-1, le=INT32_MAX, description="Only lines after this number."),
    limit: int = Query(1000, ge=1, le=10_000),
) -> list[schema.LogLine]:
    job = jobs.job_for(session, caller, identifier)
    return [views.log_line(r) for r in jobs.log_lines(session, job, after, limit)]


@router.get("/jobs/{identifier}/outputs")
def get_outputs(
    identifier: str,
    caller: Annotated[Caller, requires(P.OUTPUTS_VIEW_UNRELEASED, "project")],
    session: SessionDep,
) -> list[schema.Output]:
    """What the job produced, as its runner recorded it (the files stay on the backend), with
    what the site's pre-release rules found in each: fixed before anyone asks for a release.

    Unreleased outputs' names, sizes, rows, columns and findings are for those who may see
    unreleased outputs. On a backend whose log policy is "status", highly sensitive outputs
    are never shown, whatever its runner sent."""
    return [views.output(r) for r in jobs.outputs(session, caller, identifier)]


@router.post("/jobs/{identifier}/cancel")
def cancel_job(
    identifier: str,
    caller: Annotated[Caller, requires(P.JOB_CANCEL, "project")],
    session: SessionDep,
) -> schema.Job:
    return views.job(jobs.cancel_job(session, caller, identifier))
