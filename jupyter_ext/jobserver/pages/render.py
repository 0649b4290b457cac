"""Rendering the job server's pages with the hub's look: its templates, extended.

The hub's `page.html` is the frame (its navigation bar, its stylesheet); our templates
fill its `main` block. The hub's static files are served here too, so the pages look
the same whether the job server runs under the hub or on its own.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import jupyterhub
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, select_autoescape
from jupyterhub._data import DATA_FILES_PATH

from .markdown import markdown_document

HUB_STATIC = Path(DATA_FILES_PATH) / "static"
HUB_TEMPLATES = Path(DATA_FILES_PATH) / "templates"
OURS = Path(__file__).parent / "templates"
PALETTE = Path(__file__).parent / "palette"  # the badges' colours, shared with the hub's pages
CSRF_FIELD = "_xsrf"

environment = Environment(
    loader=ChoiceLoader(
        [FileSystemLoader(OURS), FileSystemLoader(PALETTE), FileSystemLoader(HUB_TEMPLATES)]
    ),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters["markdown_document"] = markdown_document  # a released .md, in a sandbox


class PageUser:
    """What the hub's frame asks of a user: a name, escaped for its script block."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.json_escaped_name = json.dumps(name)[1:-1]


def prefix_of(request: Request) -> str:
    return request.app.state.page_prefix


def csrf_token(request: Request, session_key: str) -> str:
    """A token a form must carry: made from this sign-in's own key (new at each sign-in) and
    this server's, so another site cannot forge a form the user's cookie would carry, and a
    token seen once is worth nothing after its sign-in ends."""
    key = request.app.state.vault.key_for("csrf")
    return hmac.new(key, session_key.encode(), hashlib.sha256).hexdigest()


def page_csrf_token(request: Request) -> str:
    """The CSRF token of the browser's sign-in, or "" (a caller with a token in the header
    needs none: another site cannot send that header)."""
    browser = request.app.state.browser_auth
    found = browser.cookie(request) if browser is not None else None
    return csrf_token(request, found[0]) if found else ""


def render(
    request: Request, template: str, caller=None, status: int = 200, **context: Any
) -> HTMLResponse:
    prefix = prefix_of(request)
    hub_base = request.app.state.hub_base_url

    def static_url(path: str, include_version: bool = True) -> str:
        return f"{prefix}static/hub/{path}"

    page = environment.get_template(template).render(
        request=request,
        prefix=prefix,
        base_url=hub_base,
        static_url=static_url,
        user=PageUser(caller.name) if caller else None,
        caller=caller,
        no_spawner_check=True,
        parsed_scopes=set(),
        services=[],
        admin_access=False,
        version_hash=jupyterhub.__version__,
        # the frame's buttons: in and out through us (our cookie, then the hub's), or the hub's
        login_url=f"{prefix}login" if request.app.state.browser_auth else f"{hub_base}login",
        logout_url=f"{prefix}logout" if request.app.state.browser_auth else f"{hub_base}logout",
        xsrf_token=page_csrf_token(request) if caller else "",
        csrf_field=CSRF_FIELD,
        signed_in_here=request.app.state.browser_auth is not None,
        **context,
    )
    headers = {
        "Content-Security-Policy": "frame-ancestors 'self'",
        "X-Content-Type-Options": "nosniff",
    }
    return HTMLResponse(page, status_code=status, headers=headers)
