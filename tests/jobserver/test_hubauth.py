"""Callers with JupyterHub tokens: the hub (here its user API on 127.0.0.1) vouches for them.

The job server uses JupyterHub's own HubAuth; only the hub's HTTP answer is stood in for,
as the end-to-end tests with a real hub do in the hub's own tests.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from jupyterhub.services.auth import HubAuth

from jupyter_ext.jobserver.hubauth import HubUsers

from .harness import JobServer

SCOPE = "access:services!service=jobserver"
HUB_USERS = {
    "hub-token-alice": {"kind": "user", "name": "alice", "scopes": [SCOPE]},
    "hub-token-bob": {"kind": "user", "name": "bob", "scopes": ["self"]},  # not this service
    "hub-token-svc": {"kind": "service", "name": "other", "scopes": [SCOPE]},
}


class FakeHubAPI(BaseHTTPRequestHandler):
    """`GET /hub/api/user`: who a token belongs to, as JupyterHub answers it."""

    def do_GET(self):
        self.server.calls += 1
        token = self.headers.get("Authorization", "").removeprefix("token ").strip()
        model = HUB_USERS.get(token)
        body = json.dumps(model or {"status": 403, "message": "bad token"}).encode()
        self.send_response(200 if self.path == "/hub/api/user" and model else 403)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def hub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHubAPI)
    server.calls = 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def test_hub_tokens_of_users_with_the_service_scope_sign_in(hub, db_url, tmp_path):
    auth = HubAuth(
        api_url=f"http://127.0.0.1:{hub.server_port}/hub/api",
        api_token="svc",
        access_scopes={SCOPE},
        cache_max_age=60,
    )
    server = JobServer(db_url, tmp_path, hub_auth=HubUsers(auth))
    server.start()
    try:
        alice = server.client(token="hub-token-alice")
        me = alice.get("me")
        assert me.status_code == 200 and me.json()["username"] == "alice"
        assert me.json()["roles"] == []  # roles come from the job server only
        calls = hub.calls
        assert alice.get("me").status_code == 200
        assert hub.calls == calls  # the hub's answer is cached
        for token in ("hub-token-bob", "hub-token-svc", "no-such-token"):
            assert server.client(token=token).get("me").status_code == 401, token
        calls = hub.calls
        assert server.client(token="jxa_" + "x" * 40).get("me").status_code == 401
        assert hub.calls == calls  # our own token shapes are never sent to the hub
        admin = server.user("admin", ["core_developer"])
        audit = server.client(token=admin).get("audit", params={"action": "user.create"}).json()
        assert [(e["actor"], e["target_id"]) for e in audit["items"]] == [("hub", "alice")]
    finally:
        server.close()
