"""A real JupyterHub with its proxy and job server, GitHub faked on 127.0.0.1, and a browser.

`HubWorld` seeds the job server (users, an organisation with a backend, a
project whose workspace is a private repository on the fake GitHub) and starts
the stack through `HubStack`, exactly as a site's hub_config runs. `Browser` is
httpx with cookies, following redirects as a browser does: it signs in through
the fake GitHub's OAuth, starts and stops workspace servers, and makes API tokens.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from jupyter_ext.cli.hubstack import BIN, HubStack, free_port

from ..jobserver.harness import SAMPLE_PROJECT
from ..parts.fake_github import FakeGitHub

ORG = "study-org"
REPO = f"{ORG}/study"
ACCESS = "access:services!service=jobserver"
CLIENT_ID, CLIENT_SECRET = "jupyter-ext-hub", "s3cret-" + secrets.token_hex(8)


def cli(folder: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(BIN / "jupyter-ext"), *args],
        cwd=folder,
        capture_output=True,
        text=True,
        env={**os.environ, **env},
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class HubWorld:
    def __init__(
        self,
        folder: Path,
        spawner: str = "local",
        settings: dict | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.folder = folder
        self.github = FakeGitHub(folder / "github").start()
        self.port = free_port()
        callback = f"http://127.0.0.1:{self.port}/hub/oauth_callback"
        self.github.add_oauth_app(CLIENT_ID, CLIENT_SECRET, callback)
        self.gh_tokens = {
            "alice": self.github.add_user("alice", orgs=[ORG]),  # a member of the project
            "bob": self.github.add_user("bob", orgs=[ORG]),  # signs in, in no project
            "carol": self.github.add_user("carol", orgs=[ORG]),  # the admin who sets it up
            "mallory": self.github.add_user("mallory"),  # not in the organisation
        }
        self.github.add_repo(REPO, SAMPLE_PROJECT)
        self.env = {
            "JUPYTER_EXT_CRYPT_KEY": Fernet.generate_key().decode(),
            "JUPYTERHUB_CRYPT_KEY": secrets.token_hex(32),
            "OAUTH_CLIENT_ID": CLIENT_ID,
            "OAUTH_CLIENT_SECRET": CLIENT_SECRET,
            "OAUTH_CALLBACK_URL": callback,
            **(env or {}),
        }
        self.db = f"sqlite:///{folder / 'jobserver.sqlite'}"
        self.clients: list[httpx.Client] = []  # closed with the world
        self._seed_accounts()
        self.log = (folder / "hub.log").open("a")
        self.stack = HubStack(
            folder,
            self.port,
            {
                "JupyterExtHub.login": "github",
                "JupyterExtHub.github_url": self.github.url,
                "JupyterExtHub.allowed_organizations": {ORG},
                "JupyterExtHub.admin_users": {"carol"},
                "JupyterExtHub.jobserver_db_url": self.db,
                "JupyterExtHub.jobserver_args": [f"--JobServerApp.github_url={self.github.url}"],
                "JupyterExtHub.workspaces_root": str(folder / "workspaces"),
                "JupyterExtHub.spawner": spawner,
                **(settings or {}),
            },
            env=self.env,
            log=self.log,
        )
        self.stack.start()
        self._seed_project()

    def _seed_accounts(self) -> None:
        def admin(*args: str) -> str:
            return cli(self.folder, self.env, "admin", *args, "--db-url", self.db)

        cli(self.folder, self.env, "jobserver", "--upgrade-db", "--db-url", self.db)
        admin("add-user", "alice")
        admin("add-user", "bob")
        admin("add-user", "carol", "--role=core_developer")
        self.admin_token = admin("token", "carol")
        admin("add-org", "uni")
        self.runner_token = admin("add-backend", "tpp", "--org", "uni")

    def _seed_project(self) -> None:
        api = self.jobserver(self.admin_token)
        api.put("me/github-token", json={"token": self.gh_tokens["carol"]}).raise_for_status()
        api.post("projects", json={"org": "uni", "name": "Study"}).raise_for_status()
        api.post(
            "projects/study/members", json={"username": "alice", "roles": ["project_developer"]}
        ).raise_for_status()
        api.post(
            "workspaces",
            json={
                "name": "study",
                "project": "study",
                "branch": "main",
                "repo": self.github.html_url(REPO),
            },
        ).raise_for_status()

    def jobserver(self, token: str, through_proxy: bool = False) -> httpx.Client:
        root = f"{self.stack.url}services/jobserver/" if through_proxy else self.stack.jobserver_url
        client = httpx.Client(
            base_url=f"{root}api/v1/", timeout=30, headers={"Authorization": f"Bearer {token}"}
        )
        self.clients.append(client)
        return client

    def run_action(self, browser: Browser, site: Path, action: str = "generate_dataset"):
        """As `browser`'s user, with a hub token through the proxy, run `action` of the
        workspace `study` on `tpp` with a runner for the time it takes: (the user's job
        server client, the finished job)."""
        from ..runner.test_local_runner import RunnerThread, wait_for

        api = self.jobserver(browser.token([ACCESS]), through_proxy=True)
        body = {"workspace": "study", "backend": "tpp", "actions": [action]}
        made = api.post("job-requests", json=body)
        assert made.status_code == 201, made.text
        with RunnerThread(_RunnerWorld(self), site):
            done = wait_for(_AsUser(api), made.json()["id"], timeout=120)
        return api, done["jobs"][-1]

    def outsider_refused(self, login: str = "bob") -> None:
        """Someone signed in, outside the project: no workspace listed, no server started,
        the workspace not visible, its jobs not listed."""
        outsider = self.browser(login)
        home = outsider.sign_in()
        assert home.url.path == "/hub/home" and 'data-server-name="study"' not in home.text
        refused = outsider.start("study")
        assert refused.status_code == 403 or "may not use the workspace study" in refused.text
        assert "study" not in outsider.api("GET", f"users/{login}").json().get("servers", {})
        api = self.jobserver(outsider.token([ACCESS]), through_proxy=True)
        assert api.get("workspaces/study").status_code in (403, 404)
        assert api.get("job-requests", params={"workspace": "study"}).json()["items"] == []

    def browser(self, login: str) -> Browser:
        return Browser(self, login)

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.stack.stop()
        self.log.close()
        self.github.stop()


class _RunnerWorld:
    """What RunnerThread expects of a world: the job server's address and a runner token."""

    def __init__(self, world: HubWorld) -> None:
        self.base_url = world.stack.jobserver_url + "api/v1/"
        self.runner_token = world.runner_token


class _AsUser:
    """wait_for() asks `client("dev")`; here the client is the signed-in user's."""

    def __init__(self, api) -> None:
        self.api = api

    def client(self, _name):
        return self.api


class Browser:
    """A person at a browser: cookies, redirects, the hub's XSRF header on API calls."""

    def __init__(self, world: HubWorld, login: str) -> None:
        self.world, self.login = world, login
        self.http = httpx.Client(base_url=world.stack.url, follow_redirects=True, timeout=60)
        world.clients.append(self.http)

    def sign_in(self) -> httpx.Response:
        self.world.github.next_login = self.login  # who is signed in at GitHub
        return self.http.get("hub/oauth_login", params={"next": "/hub/home"})

    def _xsrf(self) -> dict[str, str]:
        return {"X-XSRFToken": self.http.cookies.get("_xsrf", path="/hub/") or ""}

    def api(self, method: str, path: str, **kwargs) -> httpx.Response:
        return self.http.request(method, f"hub/api/{path}", headers=self._xsrf(), **kwargs)

    def start(self, workspace: str, timeout: float = 120) -> httpx.Response:
        """Start the workspace's server as the home page's button does; wait until it is ready."""
        started = self.http.get(f"hub/spawn/{self.login}/{workspace}")
        if started.status_code >= 400:
            return started
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            model = self.api("GET", f"users/{self.login}").json()
            server = model.get("servers", {}).get(workspace)
            if server and server.get("ready"):
                return self.http.get(f"user/{self.login}/{workspace}/lab")
            if not server or not server.get("pending"):
                return started  # it failed: the spawn page says why
            time.sleep(0.25)
        raise AssertionError(f"{workspace} did not become ready: {model}")

    def stop(self, workspace: str) -> None:
        self.api("DELETE", f"users/{self.login}/servers/{workspace}").raise_for_status()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if workspace not in self.api("GET", f"users/{self.login}").json().get("servers", {}):
                return
            time.sleep(0.25)
        raise AssertionError(f"{workspace} did not stop")

    def token(self, scopes: list[str]) -> str:
        made = self.api(
            "POST",
            f"users/{self.login}/tokens",
            json={"scopes": scopes, "expires_in": 3600, "note": "test"},
        )
        made.raise_for_status()
        return made.json()["token"]
