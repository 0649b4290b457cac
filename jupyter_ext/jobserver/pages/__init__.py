"""The job server's web pages: thin faces of the API, with the hub's look.

Every page calls the same route functions as the API (so it asks the same permission
table) and renders what they return. `PAGES` lists each page with the permission it
asks, for the permission walk. Pages are mounted last: `/{org}` matches anything.
"""

from __future__ import annotations

import functools
import importlib

from fastapi import APIRouter, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import FormData

from ..deps import SessionDep
from ..errors import ProblemError
from ..permissions import Permission
from .auth import SignIn, form_caller, page_caller, sign_in_answer
from .render import HUB_STATIC, render

router = APIRouter(include_in_schema=False)
PAGES: dict[str, tuple[Permission, str]] = {}  # path -> (permission, scope)


def page(path: str, permission: Permission, scope: str = "global"):
    """A GET page at `path`: sign-in and refusals are answered as pages, not as JSON."""

    def decorate(view):
        PAGES[path] = (permission, scope)

        @functools.wraps(view)
        def answer(*args, **kwargs):
            request: Request = kwargs["request"]
            if request.url.path.startswith(f"{request.app.state.page_prefix}api/"):
                raise ProblemError(404, f"there is no API route {request.url.path}")
            try:
                return view(*args, **kwargs)
            except SignIn:
                return sign_in_answer(request)
            except ProblemError as exc:
                return render(
                    request,
                    "error.html",
                    _signed_in(request, kwargs.get("session")),
                    status=exc.status,
                    problem=exc,
                )

        router.get(path)(answer)
        return view

    return decorate


def form(path: str):
    """The POST of a form at `path`: its caller once the CSRF token is checked, then
    `handler(request, session, caller, fields, **path parameters)` off the event loop (it
    may ask git or GitHub). `fields` holds every value of a repeated field. The handler
    answers with a 303 (post/redirect/get) or the form again with the problem's sentence;
    a refusal it does not catch is a page saying why, and nothing it began is kept."""

    def decorate(handler):
        async def answer(request: Request, session: SessionDep):
            if request.url.path.startswith(f"{request.app.state.page_prefix}api/"):
                raise ProblemError(404, f"there is no API route {request.url.path}")
            caller = None
            try:
                caller, _ = await form_caller(request, session)
                fields = await request.form()  # parsed once: the same form again
                return await run_in_threadpool(
                    handler, request, session, caller, fields, **request.path_params
                )
            except SignIn:
                return sign_in_answer(request)
            except ProblemError as exc:
                session.rollback()
                return render(request, "error.html", caller, status=exc.status, problem=exc)

        answer.__name__ = answer.__qualname__ = f"{handler.__name__}_form"
        router.post(path)(answer)
        return handler

    return decorate


def field(fields: FormData, name: str) -> str:
    """A form field's text as sent, or "" (an upload or a missing field is no text)."""
    value = fields.get(name, "")
    return value if isinstance(value, str) else ""


def field_list(fields: FormData, name: str) -> list[str]:
    """Every text value of a repeated field (ticked boxes, a multiple select)."""
    return [v for v in fields.getlist(name) if isinstance(v, str)]


def _signed_in(request: Request, session):
    """Who is signed in, for the frame of a refusal page (their name, Logout), if anyone."""
    try:
        return page_caller(request, session) if session is not None else None
    except Exception:  # no one, or not known: the page says why anyway
        return None


def mount(app: FastAPI, prefix: str, hub_base_url: str | None = None) -> None:
    app.state.page_prefix = prefix.rstrip("/") + "/"
    app.state.hub_base_url = hub_base_url or app.state.page_prefix
    app.mount(f"{prefix.rstrip('/')}/static/hub", StaticFiles(directory=HUB_STATIC), "hub-static")
    load_pages()
    app.include_router(router, prefix=prefix.rstrip("/"))


def load_pages() -> None:
    """Every page module, registering its pages in `router` and `PAGES`. The pages with fixed
    first segments register before `/{org}/...`, which match anything: `views` last, by name,
    so that sorting the imports can never put it first. Anything that needs the pages (a
    test that lists them) calls this, never imports a page module first."""
    from . import (  # noqa: F401
        admin_orgs,
        admin_people,
        admin_sites,
        applications,
        datasets,
        desk,
        project,
        provenance,
        reviewing,
        usage,
        work,
        work_jobs,
        work_run_jobs,
        work_runs,
        work_schedules,
        work_workspaces,
    )

    importlib.import_module(f"{__name__}.views")
