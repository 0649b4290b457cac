"""Study runs: one submission at several sites (the rules: `services/runs.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response

from ... import schema
from ..callers import Caller
from ..deps import SessionDep, requires
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..run_views import study_run
from ..services import runs

router = APIRouter(tags=["study runs"])


@router.post("/runs", status_code=201)
def create_run(
    body: schema.StudyRunCreate,
    request: Request,
    response: Response,
    caller: Annotated[Caller, requires(P.JOB_RUN, "project")],
    session: SessionDep,
    idempotency_key: str | None = Header(None, max_length=200),
) -> schema.StudyRun:
    """Run `actions` at every backend named, each planned against its own last states and
    dataset approvals; refused, naming the site, before anything is written."""
    state = request.app.state
    row, created = runs.create_run(session, caller, body, state.repos, state.vault, idempotency_key)
    if not created:  # the same run again: the one made the first time
        response.status_code = 200
    return study_run(row)


@router.get("/runs")
def list_runs(
    request: Request,
    caller: Annotated[Caller, requires(P.SIGNED_IN)],
    session: SessionDep,
    workspace: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.StudyRun]:
    found = runs.list_runs(
        session, caller, workspace=workspace, before=decode_cursor(cursor, str), limit=limit + 1
    )
    rows, next_url = page(request, found, limit, lambda r: r.id)
    return schema.Page(items=[study_run(r) for r in rows], next=next_url)


@router.get("/runs/{run_id}")
def get_run(
    run_id: str,
    caller: Annotated[Caller, requires(P.PROJECT_VIEW, "project")],
    session: SessionDep,
) -> schema.StudyRun:
    return study_run(runs.viewable_run(session, caller, run_id))


@router.post("/runs/{run_id}/cancel")
def cancel_run(
    run_id: str,
    caller: Annotated[Caller, requires(P.JOB_CANCEL, "project")],
    session: SessionDep,
    backend: str | None = Query(None, description="Cancel this site's part only."),
) -> schema.StudyRun:
    return study_run(runs.cancel_run(session, caller, run_id, backend))
