"""Pages for the work itself: workspaces, the GitHub token and settings, running jobs, the
job and its log, the event log (the user guide's steps 7 to 9).

Each form posts to a handler here (the package's `form`): the caller comes from
`form_caller` (its CSRF token checked), the API's own request body is built from the
fields and its route function called, so the same permission table and the same rules
decide. The answer is a 303 to a page (post/redirect/get), or the form again with the
problem's sentence, having written nothing; a refusal is a page saying why. The live pages
carry a small script (`static/live.js`) that follows the API's event stream: without it
they are whole, only not live.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from fastapi import Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ... import schema
from ...pipeline import RUN_ALL
from ...schema.states import JobState
from .. import orm
from ..deps import Caller, SessionDep
from ..errors import ProblemError
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT
from ..permissions import Permission as P
from ..repos import RepositoryError
from ..routes import accounts, job_requests, jobs, projects, workspaces
from ..states import FINISHED_JOB_STATES
from . import field, field_list, form, page, router
from .auth import page_caller
from .durations import took
from .render import environment, prefix_of, render

LIVE_SCRIPT = Path(__file__).parent / "static" / "live.js"
LOG_LINES = 5_000  # lines of a job's log in one page; later ones are a link away
SHA = re.compile(r"^[0-9a-f]{40}$")
EVENT_FILTERS = ("q", "status", "workspace", "backend", "user", "job_request")

# what a page says after a form sent there (fixed sentences: nothing from the address is shown)
DONE = {
    "address": "Your name and notification address are saved.",
    "token": "Your GitHub token is saved, encrypted. It is never shown again.",
    "token-removed": "Your GitHub token is removed.",
    "cancelled": "Cancelled: pending jobs stopped now, running ones are asked to stop.",
}
# what to change, said per field, when the API's request body refuses a form's value
HINTS = {
    "name": "the name may hold lower-case letters, digits and hyphens (at most 64), as in URLs",
    "repo": "give the repository's address, like https://github.com/org/repo",
    "branch": "give a branch name, without spaces or any of ~ ^ : ? * [ \\",
    "email": "give an email address like name@example.org, or leave it empty",
    "fullname": "keep the name to 200 characters",
    "actions": "choose at least one action, or run all",
    "backend": "choose a backend",
    "sha": "the commit is not a full sha: reload the page",
}


# -- helpers shared by the pages below ---------------------------------------------------------


def blob_url(repo: str, sha: str, line: int | None = None) -> str | None:
    """The address of project.yaml (at a line) at a commit of a repository on GitHub (or
    GitHub Enterprise); None for a repository on this machine, which has no web page."""
    parts = urlsplit(repo)
    name = parts.path.strip("/").removesuffix(".git")
    if parts.scheme not in ("http", "https") or not parts.netloc or name.count("/") != 1:
        return None
    return f"{parts.scheme}://{parts.netloc}/{name}/blob/{sha}/project.yaml" + (
        f"#L{line}" if line else ""
    )


def commit_url(repo: str, sha: str) -> str | None:
    url = blob_url(repo, sha)
    return url.replace(f"/blob/{sha}/project.yaml", f"/commit/{sha}") if url else None


# templates ask the same table (`caller.can(Permission.X, project)`) to show a form only to who
# may use it; the API decides again when the form is sent
environment.globals.update(Permission=P, blob_url=blob_url, commit_url=commit_url, took=took)


def text(fields: FormData, name: str) -> str:
    return field(fields, name).strip()


def texts(fields: FormData, name: str) -> list[str]:
    return [v.strip() for v in field_list(fields, name) if v.strip()]


def sentence(exc: ValidationError) -> str:
    """Pydantic's refusal as one sentence saying what to change, field by field."""
    said = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error.get("loc") else ""
        said.append(HINTS.get(field) or f"{field or 'the form'}: {error.get('msg', 'not valid')}")
    return "; ".join(dict.fromkeys(said))


def body(model: type[BaseModel], **values) -> BaseModel:
    """The API's request body from a form's values, or a 422 with a sentence."""
    try:
        return model(**values)
    except ValidationError as exc:
        raise ProblemError(422, sentence(exc)) from None


def attempt(session: Session, action: Callable, again: Callable):
    """The API's answer to `action()`, or the form again (`again(problem)`) with the sentence
    of a problem with the input, nothing written. Refusals stay pages saying why."""
    try:
        return action()
    except ProblemError as exc:
        if exc.status in (401, 403):
            raise
        session.rollback()
        return again(exc)


def see(request: Request, path: str, done: str | None = None) -> RedirectResponse:
    """Post/redirect/get: off to a page of this service, saying what was done."""
    here = f"{prefix_of(request)}{path.lstrip('/')}"
    if done:
        here += ("&" if "?" in here else "?") + urlencode({"done": done})
    return RedirectResponse(here, status_code=303)


def notice(request: Request) -> str | None:
    return DONE.get(request.query_params.get("done", ""))


def older(next_url: str | None) -> str | None:
    """The API's `next` link as a link to this page: only its query, so it stays relative
    (the address the job server saw may not be the one the browser sees through the hub)."""
    return f"?{urlsplit(next_url).query}" if next_url else None


def project_at(caller: Caller, session: Session, org: str, project: str) -> orm.Project:
    row = projects.viewable_project(caller, session, project)
    if row.org.slug != org:
        raise ProblemError(404, f"there is no project {org}/{project}")
    return row


def workspace_at(
    caller: Caller, session: Session, org: str, project: str, workspace: str
) -> orm.Workspace:
    """The workspace the address names, if the caller may see it and the address is its own."""
    row = workspaces.viewable_workspace(caller, session, workspace)
    if row.project.slug != project or row.project.org.slug != org:
        raise ProblemError(404, f"there is no workspace {org}/{project}/{workspace}")
    return row


def path_of(workspace: orm.Workspace) -> str:
    return f"{workspace.project.org.slug}/{workspace.project.slug}/{workspace.name}"


def live(request: Request, kinds: list[str], **where: str | None) -> dict:
    """What the page's script subscribes to: the API's event stream, filtered."""
    query = [("kind", k) for k in kinds] + [(k, v) for k, v in where.items() if v]
    return {
        "events": f"{prefix_of(request)}api/v1/events?{urlencode(query)}",
        "api": f"{prefix_of(request)}api/v1/",
    }


@router.get("/static/jupyter-ext/live.js", include_in_schema=False)
def live_script() -> FileResponse:
    return FileResponse(
        LIVE_SCRIPT, media_type="text/javascript", headers={"Cache-Control": "max-age=300"}
    )


# -- 8. the user's settings: notification address and GitHub token -----------------------------


def _settings(request, caller, problem=None, values=None, status=200):
    me = accounts.me(caller)
    values = values or {"fullname": me.fullname, "email": me.email}
    return render(
        request,
        "work_settings.html",
        caller,
        status=status,
        me=me,
        values=values,
        problem=problem,
        done=notice(request),
    )


@page("/settings", P.SIGNED_IN)
def settings_page(request: Request, session: SessionDep):
    return _settings(request, page_caller(request, session))


@form("/settings")
def save_settings(request: Request, session: Session, caller: Caller, fields: FormData):
    values = {"fullname": text(fields, "fullname"), "email": text(fields, "email")}

    def save():
        update = body(schema.UserUpdate, fullname=values["fullname"], email=values["email"] or None)
        accounts.update_user(caller.name, update, caller, session)
        return see(request, "settings", "address")

    return attempt(
        session, save, lambda exc: _settings(request, caller, exc.detail, values, exc.status)
    )


@form("/settings/github-token")
def save_github_token(request: Request, session: Session, caller: Caller, fields: FormData):
    def save():
        token = fields.get("token")
        if not isinstance(token, str) or not 20 <= len(token.strip()) <= 255:
            raise ProblemError(
                422, "a GitHub token is 20 to 255 characters: copy the whole token from GitHub"
            )
        accounts.set_github_token(schema.GitHubToken(token=token.strip()), request, caller, session)
        return see(request, "settings", "token")

    # the token is never written back into the page, even when refused
    return attempt(
        session, save, lambda exc: _settings(request, caller, exc.detail, status=exc.status)
    )


@form("/settings/github-token/delete")
def delete_github_token(request: Request, session: Session, caller: Caller, fields: FormData):
    accounts.delete_github_token(caller, session)
    return see(request, "settings", "token-removed")


# -- 7. workspaces: create, archive, notifications ----------------------------------------------


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
        made = workspaces.create_workspace(
            body(schema.WorkspaceCreate, project=row.slug, **values),
            request,
            caller,
            session,
            x_github_token=text(fields, "github_token")[:255] or None,
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
        row.name, schema.WorkspaceUpdate(archived=archived), caller, session
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
    workspaces.update_workspace(row.name, schema.WorkspaceUpdate(notifications=on), caller, session)
    return see(request, path_of(row), "notifications-on" if on else "notifications-off")


@page("/{org}/{project}/{workspace}/logs", P.PROJECT_VIEW, "project")
def workspace_log_page(
    org: str, project: str, workspace: str, request: Request, session: SessionDep
):
    """The workspace log: its job requests, newest first, a page at a time."""
    caller = page_caller(request, session)
    row = workspace_at(caller, session, org, project, workspace)
    found = job_requests.list_job_requests(
        request,
        caller,
        session,
        workspace=row.name,
        project=None,
        backend=None,
        user=None,
        limit=DEFAULT_LIMIT,
        cursor=request.query_params.get("cursor") or None,
    )
    return render(
        request,
        "work_workspace_log.html",
        caller,
        workspace=row,
        job_requests=found.items,
        older=older(found.next),
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
        actions = workspaces.list_actions(
            row.name,
            request,
            caller,
            session,
            sha=sha if SHA.match(sha) else None,
            x_github_token=token,
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
            made = job_requests.create_job_request(
                wanted, request, Response(), caller, session, idempotency_key=key
            )
            return see(request, f"job-requests/{made.id}")

        return attempt(session, submit, again)

    def show_plan():
        planned = job_requests.plan_job_request(wanted, request, caller, session)
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


# -- the job request, the job and its log -------------------------------------------------------


@form("/job-requests/{job_request_id}/cancel")
def cancel_job_request(
    request: Request, session: Session, caller: Caller, fields: FormData, job_request_id: str
):
    job_requests.cancel_job_request(job_request_id, caller, session)
    return see(request, f"job-requests/{job_request_id}", "cancelled")


def _job(request, session, caller, identifier, problem=None, status=200):
    found = jobs.get_job(identifier, caller, session)
    row = session.scalar(select(orm.Job).where(orm.Job.identifier == identifier))
    after = request.query_params.get("after", "-1")
    after = int(after) if after.lstrip("-").isdigit() and -1 <= int(after) < 2**31 else -1
    lines = jobs.get_logs(identifier, caller, session, after=after, limit=LOG_LINES)
    project = row.job_request.workspace.project  # unreleased outputs: only to those who may
    see_outputs = caller.can(P.OUTPUTS_VIEW_UNRELEASED, project)
    outputs = jobs.get_outputs(identifier, caller, session) if see_outputs else None
    return render(
        request,
        "work_job.html",
        caller,
        status=status,
        job=found,
        row=row,
        workspace=row.job_request.workspace,
        lines=lines,
        after=after,
        more=len(lines) == LOG_LINES,
        outputs=outputs,
        problem=problem,
        done=notice(request),
        finished=found.state in FINISHED_JOB_STATES,
        may_request_release=caller.can(P.RELEASE_REQUEST, row.job_request.workspace.project),
        live=live(request, ["job", "log"], job_request=found.job_request),
    )


@page("/jobs/{identifier}", P.PROJECT_VIEW, "project")
def job_page(identifier: str, request: Request, session: SessionDep):
    return _job(request, session, page_caller(request, session), identifier)


@form("/jobs/{identifier}/cancel")
def cancel_job(
    request: Request, session: Session, caller: Caller, fields: FormData, identifier: str
):
    def cancel():
        jobs.cancel_job(identifier, caller, session)
        return see(request, f"jobs/{identifier}", "cancelled")

    return attempt(
        session,
        cancel,
        lambda exc: _job(request, session, caller, identifier, exc.detail, exc.status),
    )


# -- the event log ------------------------------------------------------------------------------


@page("/event-log", P.SIGNED_IN)
def event_log_page(request: Request, session: SessionDep):
    """Jobs newest first with the API's six filters, as a GET form; the API's cursor pages."""
    caller = page_caller(request, session)
    query = request.query_params
    values = {name: query.get(name, "").strip() for name in EVENT_FILTERS}
    cursor = query.get("cursor") or None
    limit = query.get("limit", str(DEFAULT_LIMIT))
    found, problem, status = None, None, 200
    if values["status"] and values["status"] not in set(JobState):
        problem = f"the state is one of {', '.join(JobState)}, or any"
    elif len(values["q"]) > 200:
        problem = "search with at most 200 characters"
    elif not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        problem = f"show from 1 to {MAX_LIMIT} jobs a page"
    if problem:
        status = 422
    else:
        try:
            found = jobs.event_log(
                request,
                caller,
                session,
                q=values["q"] or None,
                job_request=values["job_request"] or None,
                backend=values["backend"] or None,
                status=JobState(values["status"]) if values["status"] else None,
                user=values["user"] or None,
                workspace=values["workspace"] or None,
                limit=int(limit),
                cursor=cursor,
            )
        except ProblemError as exc:
            if exc.status in (401, 403):
                raise
            problem, status = exc.detail, exc.status
    items = found.items if found else []
    names = {j.workspace for j in items}
    places = (
        {
            w.name: path_of(w)
            for w in session.scalars(select(orm.Workspace).where(orm.Workspace.name.in_(names)))
        }
        if names
        else {}
    )
    return render(
        request,
        "work_event_log.html",
        caller,
        status=status,
        jobs=items,
        values=values,
        problem=problem,
        places=places,
        older=older(found.next if found else None),
        first=cursor is None,
        states=list(JobState),
        filtered=any(values.values()),
        newest=f"?{urlencode({k: v for k, v in values.items() if v})}",
        live=live(
            request,
            ["job"],
            workspace=values["workspace"],
            backend=values["backend"],
            job_request=values["job_request"],
        )
        if not problem
        else None,
    )
