"""Callers who come through JupyterHub: the hub vouches for its tokens.

When the job server runs as a JupyterHub managed service, a Jupyter server (or a
script inside one) calls it with the hub token it was given. JupyterHub's own
`HubAuth` asks the hub who that is (and caches the answer), and the user must
hold the scope that grants access to this service. A user the job server has
not seen before is added, with no role: roles come from the job server alone.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from jupyterhub.services.auth import HubAuth
from sqlalchemy import select
from sqlalchemy.orm import Session

from . import orm
from .audit import record
from .errors import ProblemError
from .security import token_hash

OUR_TOKEN_PREFIXES = ("jxa_", "jxr_")


class HubUsers:
    def __init__(self, auth: HubAuth) -> None:
        self.auth = auth

    def username_for(self, token: str, fresh: bool = False) -> str | None:
        """The hub user behind `token`, if the hub knows it and lets them use this service
        (its answer cached for a while, unless `fresh`: then the hub is asked again)."""
        if token.startswith(OUR_TOKEN_PREFIXES):
            return None  # one of ours, and not a valid one: do not send it to the hub
        model = self.auth.user_for_token(token, use_cache=not fresh, sync=True)
        if not model or model.get("kind", "user") != "user":
            return None
        if self.auth.access_scopes and not self.auth.check_scopes(self.auth.access_scopes, model):
            return None
        return model.get("name")


SESSION_COOKIE = "jupyter-ext-session"
STATE_COOKIE = "jupyter-ext-oauth-state"


@dataclass(frozen=True)
class SignedIn:
    """A browser's live sign-in: who, and the key of its sign-in session (its CSRF base)."""

    user: orm.User
    key: str


class HubBrowserAuth:
    """Browser sign-in through the hub's OAuth (JupyterHub's HubOAuth speaks the protocol).

    Each sign-in is a session of its own (`orm.SignInSession`): the encrypted, HttpOnly
    cookie holds its random key and the hub's token. A cookie alone is accepted for reading
    (GET, HEAD); anything that changes state needs a token in the Authorization header (or,
    for the pages, a form with the CSRF token made from this sign-in's key), so that another
    site cannot act with the user's cookie. Signing out ends the session: a cookie copied
    before then is refused, and so is any CSRF token of an earlier sign-in.
    """

    def __init__(self, auth, vault, users: HubUsers, prefix: str) -> None:
        self.auth, self.vault, self.users = auth, vault, users
        self.prefix = prefix.rstrip("/") + "/"

    def login(self, request, next_url: str):
        from fastapi.responses import RedirectResponse
        from tornado.httputil import url_concat

        state = secrets.token_urlsafe(16)
        verifier, challenge, method = self.auth.generate_pkce_code_challenge()
        url = url_concat(
            self.auth.login_url,
            {
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": method,
            },
        )
        response = RedirectResponse(url, status_code=302)
        blob = json.dumps({"state": state, "next": self.safe_next(next_url), "verifier": verifier})
        self._cookie(request, response, STATE_COOKIE, blob, max_age=600)
        return response

    def callback(self, request, session: Session, code: str, state: str):
        """The hub's answer: a new sign-in session (a new key, so a new CSRF token)."""
        from fastapi.responses import RedirectResponse

        from .deps import _hub_user

        blob = request.cookies.get(STATE_COOKIE)
        saved = self.vault.decrypt(blob.encode()) if blob else None
        data = json.loads(saved) if saved else None
        if not data or not secrets.compare_digest(data["state"], state):
            raise ProblemError(
                400, "this sign-in did not start here, or took too long: sign in again"
            )
        token = self.auth.token_for_code(code, code_verifier=data["verifier"], sync=True)
        username = self.users.username_for(token, fresh=True)
        if username is None:
            raise ProblemError(
                403,
                "the hub does not let this account use the job server: ask the hub's "
                "administrator for access",
            )
        user = _hub_user(session, username)
        self._end(session, self.cookie(request))  # this browser's earlier sign-in, if any
        key = secrets.token_urlsafe(32)
        session.add(orm.SignInSession(user_id=user.id, key_hash=token_hash(key)))
        record(session, username, "user.sign_in", user)
        session.commit()
        response = RedirectResponse(data["next"], status_code=302)
        self._cookie(request, response, SESSION_COOKIE, json.dumps({"key": key, "token": token}))
        response.delete_cookie(STATE_COOKIE, path=self.prefix)
        return response

    def logout(self, request, session: Session, key: str | None):
        """End this sign-in here, then sign out of the hub (which revokes the hub's token)."""
        from fastapi.responses import RedirectResponse

        if key is not None:
            self._end(session, (key, ""))
            session.commit()
        response = RedirectResponse(f"{self.auth.hub_prefix}logout", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path=self.prefix)
        return response

    def _end(self, session: Session, found: tuple[str, str] | None) -> None:
        """End the sign-in session of this key (audited), if it is still open."""
        if found is None:
            return
        row = session.scalar(
            select(orm.SignInSession).where(orm.SignInSession.key_hash == token_hash(found[0]))
        )
        if row is not None and row.ended_at is None:
            row.ended_at = orm.utcnow()
            record(session, row.user.username, "user.sign_out", row.user)

    def cookie(self, request) -> tuple[str, str] | None:
        """The sign-in key and the hub token in the browser's cookie, if it holds them."""
        blob = request.cookies.get(SESSION_COOKIE)
        opened = self.vault.decrypt(blob.encode()) if blob else None
        try:
            data = json.loads(opened) if opened else None
        except ValueError:
            return None
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), str) for k in ("key", "token")
        ):
            return None  # an older cookie, from before sign-in sessions: sign in again
        return data["key"], data["token"]

    def signed_in(self, request, session: Session, fresh: bool = False) -> SignedIn | None:
        """The browser's sign-in, if its session is not ended and the hub still vouches for
        its token (for the same user)."""
        found = self.cookie(request)
        if found is None:
            return None
        key, token = found
        row = session.scalar(
            select(orm.SignInSession).where(orm.SignInSession.key_hash == token_hash(key))
        )
        if row is None or row.ended_at is not None:
            return None
        if self.users.username_for(token, fresh) != row.user.username:
            return None
        return SignedIn(row.user, key)

    def safe_next(self, next_url: str) -> str:
        """Only addresses of this service: a sign-in never sends anyone elsewhere."""
        if next_url.startswith(self.prefix) and "//" not in next_url and "\\" not in next_url:
            return next_url
        return self.prefix

    def _cookie(self, request, response, name: str, value: str, max_age: int | None = None):
        response.set_cookie(
            name,
            self.vault.encrypt(value).decode(),
            max_age=max_age,
            path=self.prefix,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
