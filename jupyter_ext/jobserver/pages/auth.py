"""Who is looking at a page: the same callers as the API's, and a form's CSRF check.

A page is read with the API's credentials (a token in the header, or the hub's sign-in
cookie). A form that changes something must carry the CSRF token of the signed-in user:
a cookie alone never changes state, as in the API.
"""

from __future__ import annotations

import hmac
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from ..deps import Caller, _hub_user, current_caller
from ..errors import ProblemError
from .render import CSRF_FIELD, csrf_token, prefix_of, render


class SignIn(Exception):
    """Raised by a page when no one is signed in: answered by the sign-in redirect."""


def page_caller(request: Request, session: Session) -> Caller:
    try:
        return current_caller(request, session)
    except ProblemError as exc:
        if exc.status == 401:
            raise SignIn() from None
        raise


async def form_caller(request: Request, session: Session) -> tuple[Caller, dict]:
    """The caller of a form post, and its fields, once its CSRF token is checked."""
    form = dict(await request.form())
    if request.headers.get("authorization"):  # a token, not a cookie: no forgery possible
        return current_caller(request, session), form
    browser = request.app.state.browser_auth
    blob = request.cookies.get("jupyter-ext-session") if browser else None
    hub_token = browser.vault.decrypt(blob.encode()) if blob else None
    username = browser.users.username_for(hub_token) if hub_token else None
    if username is None:
        raise SignIn()
    if not hmac.compare_digest(str(form.get(CSRF_FIELD, "")), csrf_token(request, username)):
        raise ProblemError(403, "the form's CSRF token is missing or stale: reload the page and "
                                "send it again")  # fmt: skip
    return Caller(_hub_user(session, username), session), form


def sign_in_answer(request: Request):
    """Off to the hub's sign-in and back, or a page saying how to sign in."""
    if request.app.state.browser_auth is not None and request.method in ("GET", "HEAD"):
        here = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"{prefix_of(request)}login?next={here}", status_code=302)
    return render(request, "signin.html", status=401)
