"""The job server's web pages: thin faces of the API, with the hub's look.

Every page calls the same route functions as the API (so it asks the same permission
table) and renders what they return. `PAGES` lists each page with the permission it
asks, for the permission walk. Pages are mounted last: `/{org}` matches anything.
"""

from __future__ import annotations

import functools

from fastapi import APIRouter, FastAPI, Request
from fastapi.staticfiles import StaticFiles

from ..errors import ProblemError
from ..permissions import Permission
from .auth import SignIn, sign_in_answer
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
                return render(request, "error.html", status=exc.status, problem=exc)

        router.get(path)(answer)
        return view

    return decorate


def mount(app: FastAPI, prefix: str, hub_base_url: str | None = None) -> None:
    app.state.page_prefix = prefix.rstrip("/") + "/"
    app.state.hub_base_url = hub_base_url or app.state.page_prefix
    app.mount(f"{prefix.rstrip('/')}/static/hub", StaticFiles(directory=HUB_STATIC), "hub-static")
    # the pages with fixed first segments register before `/{org}/...`, which match anything
    from . import admin, views, work  # noqa: F401

    app.include_router(router, prefix=prefix.rstrip("/"))
