"""Callers with JupyterHub tokens: the hub (here its user API on 127.0.0.1) vouches for them.

The job server uses JupyterHub's own HubAuth; only the hub's HTTP answer is stood in for,
as the end-to-end tests with a real hub do in the hub's own tests.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
from jupyterhub.services.auth import HubAuth, HubOAuth

from jupyter_ext.jobserver.hubauth import HubBrowserAuth, HubUsers

from .harness import JobServer

SCOPE = "access:services!service=jobserver"
HUB_USERS = {
    "hub-token-alice": {"kind": "user", "name": "alice", "scopes": [SCOPE]},
    "hub-token-bob": {"kind": "user", "name": "bob", "scopes": ["self"]},  # not this service
    "hub-token-svc": {"kind": "service", "name": "other", "scopes": [SCOPE]},
}


class FakeHubAPI(BaseHTTPRequestHandler):
    """JupyterHub's answers: who a token belongs to, and its OAuth authorize and token steps."""

    def do_GET(self):
        url = urlparse(self.path)
        if url.path == "/hub/api/oauth2/authorize":  # the user is signed in to the hub as alice
            query = parse_qs(url.query)
            assert query["client_id"] == ["service-jobserver"]
            self.server.challenge = query["code_challenge"][0]
            answer = urlencode({"code": "c0de", "state": query["state"][0]})
            self.send_response(302)
            self.send_header("Location", f"{query['redirect_uri'][0]}?{answer}")
            self.end_headers()
            return
        self.server.calls += 1
        token = self.headers.get("Authorization", "").removeprefix("token ").strip()
        model = HUB_USERS.get(token)
        status = 200 if url.path == "/hub/api/user" and model else 403
        self.reply(status, model or {"status": 403, "message": "bad token"})

    def do_POST(self):
        form = parse_qs(self.rfile.read(int(self.headers["Content-Length"])).decode())
        verifier = form["code_verifier"][0]
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        valid = (
            form["code"] == ["c0de"]
            and form["client_secret"] == ["svc"]
            and challenge.decode().rstrip("=") == self.server.challenge
        )
        if valid:
            return self.reply(200, {"access_token": "hub-token-alice", "token_type": "Bearer"})
        return self.reply(400, {"error": "invalid_grant"})

    def reply(self, status, model):
        body = json.dumps(model).encode()
        self.send_response(status)
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


def test_a_browser_signs_in_through_the_hub_and_its_cookie_only_reads(hub, tmp_path):
    hub_url = f"http://127.0.0.1:{hub.server_port}"
    oauth = HubOAuth(
        api_url=f"{hub_url}/hub/api",
        api_token="svc",
        access_scopes={SCOPE},
        oauth_client_id="service-jobserver",
        oauth_authorization_url=f"{hub_url}/hub/api/oauth2/authorize",
    )
    users = HubUsers(oauth)
    server = JobServer(
        f"sqlite:///{tmp_path / 'js.sqlite'}",
        tmp_path,
        hub_auth=users,
        browser_auth=lambda vault: HubBrowserAuth(oauth, vault, users, "/"),
    )
    server.start()
    root = server.base_url.removesuffix("api/v1/")
    oauth.oauth_redirect_uri = f"{root}oauth_callback"
    try:
        with httpx.Client(follow_redirects=True, timeout=30) as browser:
            page = browser.get(f"{root}login", params={"next": "/api/v1/me"})
            assert page.status_code == 200, (page.url, page.text)
            assert page.json()["username"] == "alice"
            cookie = browser.cookies.get("jupyter-ext-session")
            assert cookie and "hub-token-alice" not in cookie  # encrypted at rest in the browser
            assert browser.get(f"{root}api/v1/me").status_code == 200
            # a cookie alone never changes anything: another site could send it
            made = browser.post(f"{root}api/v1/me/tokens", json={"name": "x"})
            assert made.status_code == 401
            # a sign-in that did not start here is refused
            forged = browser.get(f"{root}oauth_callback", params={"code": "c0de", "state": "x"})
            assert forged.status_code == 400
            # and a sign-in never sends anyone away from this service
            away = browser.get(f"{root}login", params={"next": "https://evil.example/"})
            assert away.url.path == "/"
    finally:
        server.close()
