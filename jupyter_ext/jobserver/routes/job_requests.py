"""Job requests: submitted, listed, read and cancelled (the rules: `services/job_requests.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from ... import schema
from .. import views
from ..callers import Caller
from ..deps import SessionDep, requires
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..services import job_requests

router = APIRouter(tags=["job requests"])


@router.post("/job-requests", status_code=201)
def create_job_request(
    body: schema.JobRequestCreate,
    request: Request,
    response: Response,
    caller: Annotated[Caller, requires(P.JOB_RUN, "project")],
    session: SessionDep,
    idempotency_key: str | None = Header(None, max_length=200),
) -> schema.JobRequest:
    state = request.app.state
    row, created = job_requests.create_job_request(
        session, caller, body, state.repos, state.vault, idempotency_key
    )
    if not created:  # the same request again: the one made the first time
        response.status_code = 200
    return views.job_request(row)


@router.get("/job-requests")
def list_job_requests(
    request: Request,
    caller: Annotated[Caller, requires(P.SIGNED_IN)],
    session: SessionDep,
    workspace: str | None = None,
    project: str | None = None,
    backend: str | None = None,
    user: str | None = Query(None, description="Who made it."),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.JobRequest]:
    found = job_requests.list_job_requests(
        session,
        caller,
        workspace=workspace,
        project=project,
        backend=backend,
        user=user,
        before=decode_cursor(cursor, str),
        limit=limit + 1,
    )
    rows, next_url = page(request, found, limit, lambda r: r.id)
    return schema.Page(items=[views.job_request(r) for r in rows], next=next_url)


@router.get("/job-requests/{job_request_id}")
def get_job_request(
    job_request_id: str,
    caller: Annotated[Caller, requires(P.PROJECT_VIEW, "project")],
    session: SessionDep,
) -> schema.JobRequest:
    row = job_requests.viewable_job_request(session, caller, job_request_id)
    return views.job_request(row, with_yaml=True)


@router.post("/job-requests/{job_request_id}/cancel")
def cancel_job_request(
    job_request_id: str,
    caller: Annotated[Caller, requires(P.JOB_CANCEL, "project")],
    session: SessionDep,
) -> schema.JobRequest:
    return views.job_request(job_requests.cancel_job_request(session, caller, job_request_id))
