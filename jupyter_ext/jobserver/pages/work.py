"""Pages for the work itself: the user's settings here, and what the pages of the work share
(workspaces: `work_workspaces.py`; running jobs: `work_run_jobs.py`; a study run:
`work_runs.py`; the job, its log and the event log: `work_jobs.py`; the user guide's steps 7
to 9).

Each form posts to a handler (the package's `form`): the caller comes from `form_caller`
(its CSRF token checked), the API's own request body is built from the fields and the
domain function the API calls is called (`services/`), so the same permission table and
the same rules decide. The answer is a 303 to a page (post/redirect/get), or the form again with the
problem's sentence, having written nothing; a refusal is a page saying why. The live pages
carry a small script (`static/live.js`) that follows the API's event stream: without it
they are whole, only not live.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import FileResponse, RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ... import schema
from .. import orm, views
from ..deps import Caller, SessionDep
from ..errors import ProblemError
from ..permissions import Permission as P
from ..services import accounts, projects, workspaces
from . import field, field_list, form, page, router
from .auth import page_caller
from .durations import took
from .render import environment, prefix_of, render

LIVE_SCRIPT = Path(__file__).parent / "static" / "live.js"

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
    "backends": "choose backends from the list, at most 20",
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
    return projects.viewable_project(session, caller, org, project)


def workspace_at(
    caller: Caller, session: Session, org: str, project: str, workspace: str
) -> orm.Workspace:
    """The workspace the address names, if the caller may see it and the address is its own."""
    row = workspaces.viewable_workspace(session, caller, workspace)
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
    me = views.user(accounts.me(caller))
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
        accounts.update_user(session, caller, caller.name, update)
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
        given = schema.GitHubToken(token=token.strip())
        accounts.set_github_token(session, caller, request.app.state.vault, given.token)
        return see(request, "settings", "token")

    # the token is never written back into the page, even when refused
    return attempt(
        session, save, lambda exc: _settings(request, caller, exc.detail, status=exc.status)
    )


@form("/settings/github-token/delete")
def delete_github_token(request: Request, session: Session, caller: Caller, fields: FormData):
    accounts.delete_github_token(session, caller)
    return see(request, "settings", "token-removed")
