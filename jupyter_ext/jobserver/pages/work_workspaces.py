"""Workspace pages: create one, archive it, switch its notifications, its log of job
requests (running jobs in it: `work_run_jobs.py`).

The forms and helpers are those of `work.py`; the rules are the API's (`services/`).
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ... import schema
from .. import views
from ..deps import Caller, SessionDep
from ..errors import ProblemError
from ..pagination import DEFAULT_LIMIT, decode_cursor
from ..pagination import page as page_of
from ..permissions import Permission as P
from ..services import job_requests, workspaces
from . import form, page
from .auth import page_caller
from .render import render
from .work import attempt, body, older, path_of, project_at, see, text, workspace_at


def _new_workspace(request, caller, project, problem=None, values=None, status=200):
    values = values or {"branch": "main", "notifications": True}
    return render(
        request,
        "work_workspace_new.html",
        caller,
        status=status,
        project=project,
        values=values,
        problem=problem,
        saved_token=caller.user.github_token is not None,
    )


@page("/{org}/{project}/workspaces/new", P.WORKSPACE_MANAGE, "project")
def new_workspace_page(org: str, project: str, request: Request, session: SessionDep):
    caller = page_caller(request, session)
    row = project_at(caller, session, org, project)
    caller.require(P.WORKSPACE_MANAGE, row)  # the API's question before it creates one
    return _new_workspace(request, caller, row)


@form("/{org}/{project}/workspaces/new")
def create_workspace(
    request: Request, session: Session, caller: Caller, fields: FormData, org: str, project: str
):
    row = project_at(caller, session, org, project)
    values = {
        "name": text(fields, "name"),
        "repo": text(fields, "repo"),
        "branch": text(fields, "branch"),
        "notifications": "notifications" in fields,
    }

    def create():  # a token given in the form checks the repository this once, not kept
        state = request.app.state
        made = workspaces.create_workspace(
            session,
            caller,
            body(schema.WorkspaceCreate, project=row.slug, **values),
            state.repos,
            state.vault,
            text(fields, "github_token")[:255] or None,
        )
        return see(request, f"{org}/{project}/{made.name}", "created")

    return attempt(
        session,
        create,
        lambda exc: _new_workspace(request, caller, row, exc.detail, values, exc.status),
    )


def _switch(fields: FormData, name: str, on: str, off: str) -> bool:
    value = text(fields, name)
    if value not in (on, off):
        raise ProblemError(422, f"say {name}={on} or {name}={off}")
    return value == on


@form("/{org}/{project}/{workspace}/archive")
def archive_workspace(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    org: str,
    project: str,
    workspace: str,
):
    row = workspace_at(caller, session, org, project, workspace)
    archived = _switch(fields, "archived", "true", "false")
    workspaces.update_workspace(
        session, caller, row.name, schema.WorkspaceUpdate(archived=archived)
    )
    return see(request, path_of(row), "archived" if archived else "unarchived")


@form("/{org}/{project}/{workspace}/notifications")
def switch_notifications(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    org: str,
    project: str,
    workspace: str,
):
    row = workspace_at(caller, session, org, project, workspace)
    on = _switch(fields, "notifications", "on", "off")
    workspaces.update_workspace(session, caller, row.name, schema.WorkspaceUpdate(notifications=on))
    return see(request, path_of(row), "notifications-on" if on else "notifications-off")


@page("/{org}/{project}/{workspace}/logs", P.PROJECT_VIEW, "project")
def workspace_log_page(
    org: str, project: str, workspace: str, request: Request, session: SessionDep
):
    """The workspace log: its job requests, newest first, a page at a time."""
    caller = page_caller(request, session)
    row = workspace_at(caller, session, org, project, workspace)
    cursor = request.query_params.get("cursor") or None
    found = job_requests.list_job_requests(
        session,
        caller,
        workspace=row.name,
        before=decode_cursor(cursor, str),
        limit=DEFAULT_LIMIT + 1,
    )
    rows, next_url = page_of(request, found, DEFAULT_LIMIT, lambda r: r.id)
    return render(
        request,
        "work_workspace_log.html",
        caller,
        workspace=row,
        job_requests=[views.job_request(r) for r in rows],
        older=older(next_url),
        first=not request.query_params.get("cursor"),
    )
