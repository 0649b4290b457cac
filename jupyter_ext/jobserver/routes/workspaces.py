"""Workspaces: a project's repository at a branch, and the actions of its project.yaml."""

from __future__ import annotations

from fastapi import APIRouter, Header, Query, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ... import schema
from ...pipeline import check_pipeline
from .. import orm, views
from ..audit import record
from ..deps import Caller, CallerDep, SessionDep, permission
from ..errors import ProblemError
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..repos import RepositoryError
from ._common import (
    RESERVED_WORKSPACE_NAMES,
    project_named,
    refuse_reserved,
    snapshot,
    workspace_named,
)
from .projects import visible_projects

router = APIRouter(tags=["workspaces"])


def github_token(request: Request, caller: Caller, given: str | None = None) -> str | None:
    """The token for this request: given with it (not kept), or saved in the user's settings."""
    if given:
        return given
    if caller.user.github_token is not None:
        return request.app.state.vault.decrypt(caller.user.github_token)
    return None


def branch_head(request: Request, workspace: orm.Workspace, token: str | None) -> str:
    repos = request.app.state.repos
    if token is None and repos.needs_token(workspace.repo):
        raise ProblemError(
            422,
            "no GitHub token: save one in your settings (PUT /me/github-token) "
            "or give one with this request",
        )
    try:
        return repos.head(workspace.repo, workspace.branch, token)
    except RepositoryError as exc:
        raise ProblemError(422, str(exc)) from None


def viewable_workspace(caller: Caller, session: Session, name: str) -> orm.Workspace:
    workspace = workspace_named(session, name)
    caller.require(P.PROJECT_VIEW, workspace.project)
    return workspace


@router.get("/workspaces", openapi_extra=permission(P.SIGNED_IN))
def list_workspaces(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    project: str | None = None,
    archived: bool | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.Workspace]:
    projects = visible_projects(caller).with_only_columns(orm.Project.id)
    query = select(orm.Workspace).where(orm.Workspace.project_id.in_(projects))
    if project:
        query = query.where(orm.Workspace.project_id == project_named(session, project).id)
    if archived is not None:
        query = query.where(orm.Workspace.archived == archived)
    if (after := decode_cursor(cursor, str)) is not None:
        query = query.where(orm.Workspace.name > after)
    rows, next_url = page(
        request,
        session.scalars(query.order_by(orm.Workspace.name).limit(limit + 1)).all(),
        limit,
        lambda w: w.name,
    )
    return schema.Page(items=[views.workspace(w) for w in rows], next=next_url)


@router.post(
    "/workspaces", status_code=201, openapi_extra=permission(P.WORKSPACE_MANAGE, "project")
)
def create_workspace(
    body: schema.WorkspaceCreate,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    x_github_token: str | None = Header(
        None, max_length=255, description="A GitHub token for this request only, not kept."
    ),
) -> schema.Workspace:
    project = project_named(session, body.project)
    caller.require(P.WORKSPACE_MANAGE, project)
    refuse_reserved(body.name, RESERVED_WORKSPACE_NAMES, "workspace")
    if session.scalar(select(orm.Workspace).where(orm.Workspace.name == body.name)):
        raise ProblemError(409, f"a workspace {body.name} exists already: choose another name")
    if not request.app.state.repos.handles(body.repo):
        raise ProblemError(
            422, f"{body.repo} is not a repository URL like https://github.com/org/repo"
        )
    workspace = orm.Workspace(
        name=body.name,
        project_id=project.id,
        repo=body.repo,
        branch=body.branch,
        notifications=body.notifications,
        created_by_id=caller.user.id,
    )
    workspace.project, workspace.created_by = project, caller.user
    token = github_token(request, caller, x_github_token)
    branch_head(request, workspace, token)  # the branch must exist
    session.add(workspace)
    record(session, caller.name, "workspace.create", workspace, after=body.model_dump())
    session.commit()
    return views.workspace(workspace)


@router.get("/workspaces/{workspace}", openapi_extra=permission(P.PROJECT_VIEW, "project"))
def get_workspace(workspace: str, caller: CallerDep, session: SessionDep) -> schema.Workspace:
    return views.workspace(viewable_workspace(caller, session, workspace))


@router.patch("/workspaces/{workspace}", openapi_extra=permission(P.WORKSPACE_MANAGE, "project"))
def update_workspace(
    workspace: str, body: schema.WorkspaceUpdate, caller: CallerDep, session: SessionDep
) -> schema.Workspace:
    row = workspace_named(session, workspace)
    caller.require(P.WORKSPACE_MANAGE, row.project)
    before = snapshot(row, "notifications", "archived")
    for field, value in body.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(row, field, value)
    record(session, caller.name, "workspace.update", row, before, snapshot(row, *before))
    session.commit()
    return views.workspace(row)


def last_states(session: Session, workspace_id: int, backend_id: int | None = None):
    """{(backend id, action): state} of each action's latest job that was not cancelled."""
    latest = (
        select(func.max(orm.Job.id))
        .where(orm.Job.workspace_id == workspace_id, orm.Job.state != "cancelled")
        .group_by(orm.Job.backend_id, orm.Job.action)
    )
    if backend_id is not None:
        latest = latest.where(orm.Job.backend_id == backend_id)
    rows = session.execute(
        select(orm.Job.backend_id, orm.Job.action, orm.Job.state).where(orm.Job.id.in_(latest))
    )
    return {(b, a): s for b, a, s in rows}


@router.get("/workspaces/{workspace}/actions", openapi_extra=permission(P.PROJECT_VIEW, "project"))
def list_actions(
    workspace: str,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    sha: str | None = Query(None, pattern=r"^[0-9a-f]{40}$"),
    x_github_token: str | None = Header(
        None, max_length=255, description="A GitHub token for this request only, not kept."
    ),
) -> schema.Actions:
    row = viewable_workspace(caller, session, workspace)
    token = github_token(request, caller, x_github_token)
    sha = sha or branch_head(request, row, token)
    try:
        text = request.app.state.repos.read(row.repo, sha, "project.yaml", token)
    except RepositoryError as exc:
        raise ProblemError(422, str(exc)) from None
    pipeline, problems, warnings = check_pipeline(text, "project.yaml")
    result = schema.Actions(
        workspace=row.name,
        sha=sha,
        problems=[p.to_json() for p in problems],
        warnings=[w.to_json() for w in warnings],
    )
    if pipeline is None:
        return result
    backends = {b.id: b.slug for b in session.scalars(select(orm.Backend))}
    states: dict[str, dict[str, str]] = {}
    for (backend_id, action), state in last_states(session, row.id).items():
        states.setdefault(action, {})[backends[backend_id]] = state
    result.actions = [
        schema.ActionStatus(
            name=name,
            needs=list(a.needs),
            run=a.run.raw,
            outputs=a.outputs.to_json(),
            line=a.line,
            last_state=states.get(name, {}),
        )
        for name, a in pipeline.actions.items()
    ]
    return result
