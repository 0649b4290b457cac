"""Workspace pages: create one, archive it, switch its notifications, its log of job
requests, and running jobs (the actions at the branch head, the plan, the submission).

The forms and helpers are those of `work.py`; the rules are the API's (`services/`).
"""

from __future__ import annotations

import json
import re
import secrets

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ... import schema
from ...pipeline import RUN_ALL
from .. import views
from ..deps import Caller, SessionDep
from ..errors import ProblemError
from ..pagination import DEFAULT_LIMIT, decode_cursor
from ..pagination import page as page_of
from ..permissions import Permission as P
from ..repos import RepositoryError
from ..services import job_requests, workspaces
from . import form, page
from .auth import page_caller
from .render import render
from .work import attempt, body, older, path_of, project_at, see, text, texts, workspace_at

SHA = re.compile(r"^[0-9a-f]{40}$")


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


# -- 9. run jobs: the actions at the branch head, the plan, the submission ----------------------


def _selection(request_body: schema.JobRequestCreate) -> str:
    """What a plan was made for: running asks that the plan shown is the plan run."""
    return json.dumps(
        [
            sorted(request_body.actions),
            request_body.backend,
            request_body.force_run_dependencies,
            request_body.sha,
        ]
    )


def _run_jobs(
    request,
    session,
    caller,
    row,
    fields=None,
    *,
    plan=None,
    planned_for="",
    problem=None,
    errors=None,
    status=200,
):
    """The run-jobs page: the actions of project.yaml with their last states and, once asked,
    the plan; `fields` are the form's, sent again."""
    token = (text(fields, "github_token") or None) if fields is not None else None
    sha = text(fields, "sha") if fields is not None else ""
    actions = unreadable = None
    try:
        state = request.app.state
        actions = workspaces.list_actions(
            session,
            caller,
            row.name,
            state.repos,
            state.vault,
            sha if SHA.match(sha) else None,
            token,
        )
    except ProblemError as exc:
        if exc.status in (401, 403):
            raise
        unreadable = exc.detail
    try:
        needs_token = request.app.state.repos.needs_token(row.repo)
    except RepositoryError:
        needs_token = False
    backends = sorted(b.slug for b in row.project.org.backends)
    chosen = {
        "actions": set(texts(fields, "action")) if fields is not None else set(),
        "backend": text(fields, "backend") if fields is not None else "",
        "force": fields is not None and "force_run_dependencies" in fields,
        "notify": "notify" in fields if fields is not None else True,
    }
    chosen["backend"] = chosen["backend"] or (backends[0] if backends else "")
    return render(
        request,
        "work_run_jobs.html",
        caller,
        status=status,
        workspace=row,
        actions=actions,
        unreadable=unreadable,
        needs_token=needs_token,
        saved_token=caller.user.github_token is not None,
        backends=backends,
        chosen=chosen,
        plan=plan,
        planned_for=planned_for,
        problem=problem,
        errors=errors or [],
        idempotency_key=secrets.token_urlsafe(18),
        may_run=caller.can(P.JOB_RUN, row.project),
        run_all=RUN_ALL,
    )


@page("/{org}/{project}/{workspace}/run-jobs", P.PROJECT_VIEW, "project")
def run_jobs_page(org: str, project: str, workspace: str, request: Request, session: SessionDep):
    caller = page_caller(request, session)
    return _run_jobs(
        request, session, caller, workspace_at(caller, session, org, project, workspace)
    )


@form("/{org}/{project}/{workspace}/run-jobs")
def run_jobs(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    org: str,
    project: str,
    workspace: str,
):
    """`intent` says what the button asked: `list` the actions (with a token given once),
    `plan` the selection, or `run` the plan shown (a changed selection is planned first)."""
    row = workspace_at(caller, session, org, project, workspace)
    intent = text(fields, "intent")

    def again(exc: ProblemError, **more):
        return _run_jobs(
            request,
            session,
            caller,
            row,
            fields,
            problem=exc.detail,
            errors=exc.errors,
            status=exc.status,
            **more,
        )

    if intent == "list":
        return _run_jobs(request, session, caller, row, fields)
    try:
        wanted = body(
            schema.JobRequestCreate,
            workspace=row.name,
            backend=text(fields, "backend"),
            actions=texts(fields, "action"),
            sha=text(fields, "sha") or None,
            force_run_dependencies="force_run_dependencies" in fields,
            notify="notify" in fields,
            github_token=text(fields, "github_token") or None,
        )
    except ProblemError as exc:
        return again(exc)
    if intent == "run" and text(fields, "planned_for") == _selection(wanted):
        key = text(fields, "idempotency_key")[:200] or None  # a second click: the same request

        def submit():
            state = request.app.state
            made, _ = job_requests.create_job_request(
                session, caller, wanted, state.repos, state.vault, key
            )
            return see(request, f"job-requests/{made.id}")

        return attempt(session, submit, again)

    def show_plan():
        state = request.app.state
        planned = job_requests.plan_job_request(session, caller, wanted, state.repos, state.vault)
        changed = intent == "run"  # asked to run, but not what the plan shown was for
        return _run_jobs(
            request,
            session,
            caller,
            row,
            fields,
            plan=planned,
            planned_for=_selection(wanted),
            problem="the selection changed since the plan was shown: here is its plan; run it "
            "if it is what you want"
            if changed
            else None,
        )

    return attempt(session, show_plan, again)
