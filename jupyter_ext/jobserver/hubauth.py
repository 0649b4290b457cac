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

from jupyterhub.services.auth import HubAuth

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
SAFE_METHODS = frozenset({"GET", "HEAD"})


class HubBrowserAuth:
    """Browser sign-in through the hub's OAuth (JupyterHub's HubOAuth speaks the protocol).

    The hub's token is kept only in an encrypted, HttpOnly cookie. A cookie alone
    is accepted for reading (GET, HEAD); anything that changes state needs a token
    in the Authorization header (or, for the pages, a form with its CSRF token),
    so that another site cannot act with the user's cookie.
    """

    def __init__(self, auth, vault, users: HubUsers, prefix: str) -> None:
        self.auth, self.vault, self.users = auth, vault, users
        self.prefix = prefix.rstrip("/") + "/"

    def login(self, request, next_url: str):
        from fastapi.responses import RedirectResponse
        from tornado.httputil import url_concat

        state = secrets.token_urlsafe(16)
        verifier, challenge, method = self.auth.generate_pkce_code_challenge()
        url = url_concat(self.auth.login_url, {
            "state": state, "code_challenge": challenge, "code_challenge_method": method,
        })  # fmt: skip
        response = RedirectResponse(url, status_code=302)
        blob = json.dumps({"state": state, "next": self.safe_next(next_url), "verifier": verifier})
        self._cookie(request, response, STATE_COOKIE, blob, max_age=600)
        return response

    def callback(self, request, code: str, state: str):
        from fastapi.responses import RedirectResponse

        from .errors import ProblemError

        blob = request.cookies.get(STATE_COOKIE)
        saved = self.vault.decrypt(blob.encode()) if blob else None
        data = json.loads(saved) if saved else None
        if not data or not secrets.compare_digest(data["state"], state):
            raise ProblemError(
                400, "this sign-in did not start here, or took too long: sign in again"
            )
        token = self.auth.token_for_code(code, code_verifier=data["verifier"], sync=True)
        response = RedirectResponse(data["next"], status_code=302)
        self._cookie(request, response, SESSION_COOKIE, token)
        response.delete_cookie(STATE_COOKIE, path=self.prefix)
        return response

    def logout(self, request):
        """Forget the sign-in here, then sign out of the hub (which revokes the hub's token)."""
        from fastapi.responses import RedirectResponse

        response = RedirectResponse(f"{self.auth.hub_prefix}logout", status_code=302)
        response.delete_cookie(SESSION_COOKIE, path=self.prefix)
        return response

    def token_from(self, request) -> str | None:
        """The hub token of a signed-in browser, for reading only."""
        if request.method not in SAFE_METHODS:
            return None
        blob = request.cookies.get(SESSION_COOKIE)
        return self.vault.decrypt(blob.encode()) if blob else None

    def safe_next(self, next_url: str) -> str:
        """Only addresses of this service: a sign-in never sends anyone elsewhere."""
        if next_url.startswith(self.prefix) and "//" not in next_url and "\\" not in next_url:
            return next_url
        return self.prefix

    def _cookie(self, request, response, name: str, value: str, max_age: int | None = None):
        response.set_cookie(
            name, self.vault.encrypt(value).decode(), max_age=max_age, path=self.prefix,
            httponly=True, samesite="lax", secure=request.url.scheme == "https",
        )  # fmt: skip
