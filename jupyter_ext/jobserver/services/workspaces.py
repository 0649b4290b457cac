"""Workspaces: a project's repository at a branch, and the actions of its project.yaml.

The GitHub token of one act and the branch's head are asked here too: creating a workspace,
listing its actions and planning a job request all read the repository the same way.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ... import schema
from ...pipeline import check_pipeline
from ...schema.states import JobState
from .. import orm
from ..audit import record
from ..callers import Caller
from ..errors import ProblemError
from ..permissions import Permission as P
from ..repos import RepositoryError, RepositorySource
from ..security import Vault
from .lookup import (
    RESERVED_WORKSPACE_NAMES,
    project_named,
    refuse_reserved,
    snapshot,
    workspace_named,
)
from .notebook_parameters import values_without_overrides
from .projects import visible_projects


def github_token(vault: Vault, caller: Caller, given: str | None = None) -> str | None:
    """The token for this act: given with it (not kept), or saved in the user's settings."""
    if given:
        return given
    if caller.user.github_token is not None:
        return vault.decrypt(caller.user.github_token)
    return None


def branch_head(repos: RepositorySource, workspace: orm.Workspace, token: str | None) -> str:
    """The commit at the head of the workspace's branch, or a 422 saying why it is not known."""
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


def read_project_yaml(
    repos: RepositorySource, workspace: orm.Workspace, sha: str, token: str | None
) -> str:
    try:
        return repos.read(workspace.repo, sha, "project.yaml", token)
    except RepositoryError as exc:
        raise ProblemError(422, str(exc)) from None


def viewable_workspace(session: Session, caller: Caller, name: str) -> orm.Workspace:
    workspace = workspace_named(session, name)
    caller.require(P.PROJECT_VIEW, workspace.project)
    return workspace


def list_workspaces(
    session: Session,
    caller: Caller,
    *,
    project: str | None = None,
    archived: bool | None = None,
    after: str | None = None,
    limit: int,
) -> list[orm.Workspace]:
    """Workspaces of the projects the caller may view, by name after `after`: up to `limit`
    rows (a face asks one more to know whether there is a next page)."""
    projects = visible_projects(caller).with_only_columns(orm.Project.id)
    query = select(orm.Workspace).where(orm.Workspace.project_id.in_(projects))
    if project:
        query = query.where(orm.Workspace.project_id == project_named(session, project).id)
    if archived is not None:
        query = query.where(orm.Workspace.archived == archived)
    if after is not None:
        query = query.where(orm.Workspace.name > after)
    return list(session.scalars(query.order_by(orm.Workspace.name).limit(limit)))


def create_workspace(
    session: Session,
    caller: Caller,
    body: schema.WorkspaceCreate,
    repos: RepositorySource,
    vault: Vault,
    given_token: str | None = None,
) -> orm.Workspace:
    """A new workspace, once its branch is found (with a token given for this act only)."""
    project = project_named(session, body.project)
    caller.require(P.WORKSPACE_MANAGE, project)
    refuse_reserved(body.name, RESERVED_WORKSPACE_NAMES, "workspace")
    if session.scalar(select(orm.Workspace).where(orm.Workspace.name == body.name)):
        raise ProblemError(409, f"a workspace {body.name} exists already: choose another name")
    if not repos.handles(body.repo):
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
    branch_head(repos, workspace, github_token(vault, caller, given_token))  # it must exist
    session.add(workspace)
    record(session, caller.name, "workspace.create", workspace, after=body.model_dump())
    session.commit()
    return workspace


def update_workspace(
    session: Session, caller: Caller, name: str, body: schema.WorkspaceUpdate
) -> orm.Workspace:
    """Archive or unarchive it, switch its notifications."""
    row = workspace_named(session, name)
    caller.require(P.WORKSPACE_MANAGE, row.project)
    before = snapshot(row, "notifications", "archived")
    for field, value in body.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(row, field, value)
    record(session, caller.name, "workspace.update", row, before, snapshot(row, *before))
    session.commit()
    return row


def last_states(session: Session, workspace_id: int, backend_id: int | None = None):
    """{(backend id, action): state} of each action's latest job that was not cancelled."""
    latest = (
        select(func.max(orm.Job.id))
        .where(orm.Job.workspace_id == workspace_id, orm.Job.state != JobState.CANCELLED)
        .group_by(orm.Job.backend_id, orm.Job.action)
    )
    if backend_id is not None:
        latest = latest.where(orm.Job.backend_id == backend_id)
    rows = session.execute(
        select(orm.Job.backend_id, orm.Job.action, orm.Job.state).where(orm.Job.id.in_(latest))
    )
    return {(b, a): s for b, a, s in rows}


def list_actions(
    session: Session,
    caller: Caller,
    name: str,
    repos: RepositorySource,
    vault: Vault,
    sha: str | None = None,
    given_token: str | None = None,
) -> schema.Actions:
    """The actions of project.yaml at `sha` (the branch head if None), with the problems found
    in it and each action's last state on each backend."""
    row = viewable_workspace(session, caller, name)
    token = github_token(vault, caller, given_token)
    sha = sha or branch_head(repos, row, token)
    text = read_project_yaml(repos, row, sha, token)
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
    result.actions = []
    for action, a in pipeline.actions.items():
        notebook, values = values_without_overrides(repos, row, sha, token, a)
        result.actions.append(
            schema.ActionStatus(
                name=action,
                needs=list(a.needs),
                run=a.run.raw,
                outputs=a.outputs.to_json(),
                line=a.line,
                last_state=states.get(action, {}),
                notebook=notebook,
                parameters=values,
            )
        )
    return result
