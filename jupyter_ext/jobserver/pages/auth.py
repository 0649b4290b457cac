"""Who is looking at a page: the same callers as the API's, and a form's CSRF check.

A page is read with the API's credentials (a token in the header, or the hub's sign-in
cookie). A form that changes something must carry the CSRF token of the signed-in user:
a cookie alone never changes state, as in the API.
"""

from __future__ import annotations

import hmac
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlalchemy.orm import Session

from ..deps import Caller, current_caller
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
    """The caller of a form post, and its fields, once its CSRF token is checked against
    this sign-in's: a token of an earlier sign-in, or of another browser, is refused."""
    form = dict(await request.form())
    if request.headers.get("authorization"):  # a token, not a cookie: no forgery possible
        return current_caller(request, session), form
    browser = request.app.state.browser_auth
    signed_in = browser.signed_in(request, session) if browser is not None else None
    if signed_in is None:
        raise SignIn()
    check_csrf(request, form, signed_in.key)
    return Caller(signed_in.user, session), form


def check_csrf(request: Request, form: dict, session_key: str) -> None:
    sent = str(form.get(CSRF_FIELD, ""))
    if not hmac.compare_digest(sent, csrf_token(request, session_key)):
        raise ProblemError(
            403, "the form's CSRF token is missing or stale: reload the page and send it again"
        )


def sign_in_answer(request: Request):
    """Off to the hub's sign-in and back, or a page saying how to sign in."""
    if request.app.state.browser_auth is not None and request.method in ("GET", "HEAD"):
        here = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"{prefix_of(request)}login?next={here}", status_code=302)
    return render(request, "signin.html", status=401)


def sign_out_page(request: Request, session: Session):
    """`GET /logout` changes nothing (a link or an image on another site could send it): it
    shows the Logout button, whose POST carries this sign-in's CSRF token."""
    browser = request.app.state.browser_auth
    signed_in = browser.signed_in(request, session)
    caller = Caller(signed_in.user, session) if signed_in else None
    return render(request, "signout.html", caller)


async def sign_out(request: Request, session: Session):
    """`POST /logout`: end this sign-in (its cookie and CSRF token stop working here at
    once, and its open streams end), then sign out of the hub."""
    browser = request.app.state.browser_auth
    form = dict(await request.form())
    found = browser.cookie(request)
    try:
        if found is not None:
            check_csrf(request, form, found[0])
    except ProblemError as exc:
        return render(request, "error.html", None, status=exc.status, problem=exc)
    key = found[0] if found else None
    return await run_in_threadpool(browser.logout, request, session, key)
