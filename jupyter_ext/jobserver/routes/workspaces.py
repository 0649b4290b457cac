"""Workspaces: a project's repository at a branch, and the actions of its project.yaml (the
rules: `services/workspaces.py`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from ... import schema
from .. import views
from ..callers import Caller
from ..deps import SessionDep, requires
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..services import workspaces

router = APIRouter(tags=["workspaces"])
GIVEN_TOKEN = "A GitHub token for this request only, not kept."


@router.get("/workspaces")
def list_workspaces(
    request: Request,
    caller: Annotated[Caller, requires(P.SIGNED_IN)],
    session: SessionDep,
    project: str | None = None,
    archived: bool | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.Workspace]:
    found = workspaces.list_workspaces(
        session,
        caller,
        project=project,
        archived=archived,
        after=decode_cursor(cursor, str),
        limit=limit + 1,
    )
    rows, next_url = page(request, found, limit, lambda w: w.name)
    return schema.Page(items=[views.workspace(w) for w in rows], next=next_url)


@router.post("/workspaces", status_code=201)
def create_workspace(
    body: schema.WorkspaceCreate,
    request: Request,
    caller: Annotated[Caller, requires(P.WORKSPACE_MANAGE, "project")],
    session: SessionDep,
    x_github_token: str | None = Header(None, max_length=255, description=GIVEN_TOKEN),
) -> schema.Workspace:
    state = request.app.state
    row = workspaces.create_workspace(
        session, caller, body, state.repos, state.vault, x_github_token
    )
    return views.workspace(row)


@router.get("/workspaces/{workspace}")
def get_workspace(
    workspace: str,
    caller: Annotated[Caller, requires(P.PROJECT_VIEW, "project")],
    session: SessionDep,
) -> schema.Workspace:
    return views.workspace(workspaces.viewable_workspace(session, caller, workspace))


@router.patch("/workspaces/{workspace}")
def update_workspace(
    workspace: str,
    body: schema.WorkspaceUpdate,
    caller: Annotated[Caller, requires(P.WORKSPACE_MANAGE, "project")],
    session: SessionDep,
) -> schema.Workspace:
    return views.workspace(workspaces.update_workspace(session, caller, workspace, body))


@router.get("/workspaces/{workspace}/actions")
def list_actions(
    workspace: str,
    request: Request,
    caller: Annotated[Caller, requires(P.PROJECT_VIEW, "project")],
    session: SessionDep,
    sha: str | None = Query(None, pattern=r"^[0-9a-f]{40}$"),
    x_github_token: str | None = Header(None, max_length=255, description=GIVEN_TOKEN),
) -> schema.Actions:
    state = request.app.state
    return workspaces.list_actions(
        session, caller, workspace, state.repos, state.vault, sha, x_github_token
    )
