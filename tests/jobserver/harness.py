"""A real job server for tests: a real database, the real app, real git repositories.

`JobServer` builds the app from `make_app` on a database URL (SQLite file or a
throwaway PostgreSQL database), seeds people with roles and hands out clients
that speak as them. `serve()` runs it under uvicorn on 127.0.0.1 for streams
and long-polls, which an in-process client cannot test.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import select

from jupyter_ext.jobserver import orm
from jupyter_ext.jobserver.api import make_app
from jupyter_ext.jobserver.app import JobServerApp
from jupyter_ext.jobserver.db import make_engine, make_sessionmaker, upgrade_db
from jupyter_ext.jobserver.repos import GitHub, LocalGit, Repositories
from jupyter_ext.jobserver.security import Vault
from jupyter_ext.jobserver.services.accounts import issue_api_token
from jupyter_ext.jobserver.services.orgs import issue_runner_token
from jupyter_ext.jobserver.services.projects import add_member, create_project

from ..conftest import SAMPLE_PROJECT
from .mocking import MockJobServerApp

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.org",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.org",
    "HOME": "/tmp",
    "PATH": "/usr/bin:/bin",
}


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, env=GIT_ENV, check=True, capture_output=True, text=True
    ).stdout.strip()


def make_repo(path: Path, source: Path = SAMPLE_PROJECT, branch: str = "main") -> str:
    """A git repository with `source`'s files committed on `branch`; its head sha."""
    shutil.copytree(source, path)
    git(path, "init", "-q", "-b", branch)
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "first")
    return git(path, "rev-parse", "HEAD")


class JobServer:
    def __init__(
        self,
        url: str,
        repo_root: Path,
        settings: JobServerApp | None = None,
        hub_auth=None,
        browser_auth=None,
    ) -> None:
        self.engine = make_engine(url)
        upgrade_db(self.engine if url == "sqlite://" else url)
        self.factory = make_sessionmaker(self.engine)
        self.settings = settings = MockJobServerApp() if settings is None else settings
        self.vault = Vault(settings.crypt_keys)
        repos = Repositories(
            LocalGit([str(repo_root)]), GitHub("http://127.0.0.1:9", "https://github.com")
        )
        if callable(browser_auth):  # it needs this server's vault
            browser_auth = browser_auth(self.vault)
        self.app = make_app(
            settings, self.factory, self.vault, repos, hub_auth=hub_auth, browser_auth=browser_auth
        )
        self.tokens: dict[str, str] = {}
        self._clients: list[httpx.Client] = []
        self._by_caller: dict[tuple[str | None, str | None], httpx.Client] = {}

    # -- seeding, as an administrator would with `jupyter ext admin` -------------

    def user(self, username: str, roles: list[str] = ()) -> str:
        """Create a user with global roles; returns their API token."""
        with self.factory() as session:
            user = orm.User(username=username, roles=sorted(roles))
            session.add(user)
            session.flush()
            self.tokens[username] = issue_api_token(session, user, "tests").token
            session.commit()
        return self.tokens[username]

    def org(self, slug: str, backends: list[str] = ()) -> None:
        with self.factory() as session:
            org = orm.Org(slug=slug, name=slug.title())
            org.backends = [
                session.scalar(select(orm.Backend).where(orm.Backend.slug == b)) for b in backends
            ]
            session.add(org)
            session.commit()

    def backend(self, slug: str, log_policy: str = "full") -> str:
        """Create a backend; returns its runner token."""
        with self.factory() as session:
            backend = orm.Backend(slug=slug, name=slug.title(), log_policy=log_policy)
            session.add(backend)
            session.flush()
            token = issue_runner_token(session, backend)
            session.commit()
        return token

    def project(self, org: str, name: str, members: dict[str, list[str]] = {}) -> str:  # noqa: B006
        with self.factory() as session:
            org_row = session.scalar(select(orm.Org).where(orm.Org.slug == org))
            project = create_project(session, "tests", org_row, name)
            session.flush()
            for username, roles in members.items():
                user = session.scalar(select(orm.User).where(orm.User.username == username))
                add_member(session, "tests", project, user, roles)
            session.commit()
            return project.slug

    def workspace(self, project: str, name: str, repo: Path, branch: str = "main") -> None:
        with self.factory() as session:
            project_row = session.scalar(select(orm.Project).where(orm.Project.slug == project))
            creator = session.scalar(select(orm.User).order_by(orm.User.id))
            session.add(
                orm.Workspace(
                    name=name,
                    project_id=project_row.id,
                    repo=str(repo),
                    branch=branch,
                    created_by_id=creator.id,
                )
            )
            session.commit()

    # -- clients ---------------------------------------------------------------

    def client(self, username: str | None = None, token: str | None = None) -> httpx.Client:
        """A client of the running server (see `start`), speaking as `username`."""
        key = (username, token)
        if key not in self._by_caller:
            self._by_caller[key] = self.http(self.base_url, username, token)
        return self._by_caller[key]

    @contextmanager
    def serve(self, port: int | None = None):
        """The app under uvicorn on 127.0.0.1 (on `port`, or a free one); yields its base URL."""
        if port is None:
            sock = socket.socket()
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
            sock.close()
        server = uvicorn.Server(
            uvicorn.Config(
                self.app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the job server did not start")
            time.sleep(0.01)
        try:
            yield f"http://127.0.0.1:{port}/api/v1/"
        finally:
            server.should_exit = True
            thread.join(10)

    def http(
        self, base: str, username: str | None = None, token: str | None = None
    ) -> httpx.Client:
        token = token or (self.tokens[username] if username else None)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        client = httpx.Client(base_url=base, headers=headers, timeout=30)
        self._clients.append(client)
        return client

    def start(self, port: int | None = None) -> None:
        self._serving = self.serve(port)
        self.base_url = self._serving.__enter__()

    def stop(self) -> int:
        """Stop serving (the database stays); returns the port, to start again on it."""
        port = int(self.base_url.split(":")[2].split("/")[0])
        self._serving.__exit__(None, None, None)
        self._serving = None
        return port

    def close(self) -> None:
        for client in self._clients:
            client.close()
        if getattr(self, "_serving", None) is not None:
            self._serving.__exit__(None, None, None)
        self.engine.dispose()


def leased_job(world, action: str = "generate_dataset") -> str:
    """`dev` asks for `action` of the sample workspace and the runner leases its job: its id."""
    body = {"workspace": "sample", "backend": "tpp", "actions": [action]}
    world.client("dev").post("job-requests", json=body).raise_for_status()
    (lease,) = world.client(token=world.runner_token).post("runner/poll", json={"wait": 0}).json()
    return lease["identifier"]
