"""Callers who come through JupyterHub: the hub vouches for its tokens.

When the job server runs as a JupyterHub managed service, a Jupyter server (or a
script inside one) calls it with the hub token it was given. JupyterHub's own
`HubAuth` asks the hub who that is (and caches the answer), and the user must
hold the scope that grants access to this service. A user the job server has
not seen before is added, with no role: roles come from the job server alone.
"""

from __future__ import annotations

from jupyterhub.services.auth import HubAuth

OUR_TOKEN_PREFIXES = ("jxa_", "jxr_")


class HubUsers:
    def __init__(self, auth: HubAuth) -> None:
        self.auth = auth

    def username_for(self, token: str) -> str | None:
        """The hub user behind `token`, if the hub knows it and lets them use this service."""
        if token.startswith(OUR_TOKEN_PREFIXES):
            return None  # one of ours, and not a valid one: do not send it to the hub
        model = self.auth.user_for_token(token, sync=True)
        if not model or model.get("kind", "user") != "user":
            return None
        if self.auth.access_scopes and not self.auth.check_scopes(self.auth.access_scopes, model):
            return None
        return model.get("name")
