"""The demo's development login: ready users, no password, and only on loopback.

It is JupyterHub's DummyAuthenticator restricted to the configured users, and it
refuses to start when the hub listens on anything but a loopback address: a
login without a password must never be reachable from another machine.
"""

from __future__ import annotations

from jupyterhub.auth import DummyAuthenticator

from .settings import loopback_only


class DevLogin(DummyAuthenticator):
    def check_allow_config(self) -> None:
        super().check_allow_config()
        hub = self.parent
        if hub is not None and not loopback_only(hub.bind_url):
            raise ValueError(
                f"the development login has no passwords, so it listens on loopback only, not "
                f"{hub.bind_url}: use --ip 127.0.0.1, or sign in with GitHub "
                "(c.JupyterExtHub.login = 'github')"
            )
