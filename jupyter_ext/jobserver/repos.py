"""Where the job server reads a workspace's project.yaml: GitHub, or a plain git repository.

GitHub is asked through its REST API with the user's token (in a header, never
in a URL). Plain git repositories on this machine serve the demo and tests,
and only under configured folders. Each source is a configurable the job server
builds with `parent=` itself: where they are comes from `JobServerApp.github_url`,
`github_api_url` and `local_repo_roots`; how they are asked from their own traits
(`c.GitHub.timeout`).
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import httpx
from traitlets import Float
from traitlets.config import LoggingConfigurable

from ..pipeline.yaml_loader import MAX_CHARACTERS

SHA = re.compile(r"^[0-9a-f]{40}$")


class RepositoryError(Exception):
    """A repository, branch, commit or file that cannot be had, said as what to fix."""


class FileMissing(RepositoryError):
    """The commit is there, the file is not (a repository without datasets.yaml, say)."""


class RepositorySource(LoggingConfigurable):
    """Read-only access to repositories: a branch's head, and a file at a commit."""

    def head(self, repo: str, branch: str, token: str | None) -> str:
        raise NotImplementedError

    def read(self, repo: str, sha: str, path: str, token: str | None) -> str:
        raise NotImplementedError

    def needs_token(self, repo: str) -> bool:
        return False


class LocalGit(RepositorySource):
    """Plain git repositories under `roots` (paths or file:// URLs)."""

    def __init__(self, roots: list[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.roots = [Path(r).resolve() for r in roots]

    def handles(self, repo: str) -> bool:
        return repo.startswith(("/", "file://"))

    def _path(self, repo: str) -> Path:
        path = Path(urlparse(repo).path if repo.startswith("file://") else repo).resolve()
        if not any(path == root or root in path.parents for root in self.roots):
            raise RepositoryError(f"{repo} is not under a folder the job server may read")
        if not (path / ".git").exists() and not (path / "HEAD").exists():
            raise RepositoryError(f"{repo} is not a git repository")
        return path

    def _git(self, path: Path, *args: str) -> str:
        result = subprocess.run(
            ["git", "-C", str(path), *args],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
        if result.returncode != 0:
            raise RepositoryError(result.stderr.strip().splitlines()[-1] if result.stderr else "")
        return result.stdout

    def head(self, repo: str, branch: str, token: str | None) -> str:
        path = self._path(repo)
        try:
            return self._git(
                path, "rev-parse", "--verify", f"refs/heads/{branch}^{{commit}}"
            ).strip()
        except RepositoryError:
            raise RepositoryError(f"the branch {branch!r} does not exist in {repo}") from None

    def read(self, repo: str, sha: str, path: str, token: str | None) -> str:
        where = self._path(repo)
        try:
            self._git(where, "cat-file", "-e", f"{sha}^{{commit}}")
        except RepositoryError:
            raise RepositoryError(f"the commit {sha} does not exist in {repo}") from None
        try:  # never more than the pipeline reads: a huge blob is refused unread
            size = int(self._git(where, "cat-file", "-s", f"{sha}:{path}"))
        except RepositoryError:
            raise FileMissing(f"there is no {path} at commit {sha[:12]} of {repo}") from None
        if size > MAX_CHARACTERS * 4:  # 4 bytes a character at most in UTF-8
            raise RepositoryError(
                f"{path} at commit {sha[:12]} is {size:,} bytes: more than a project file may be"
            )
        return self._git(where, "show", f"{sha}:{path}")


class GitHub(RepositorySource):
    """GitHub's REST API (`api_url` points at GitHub Enterprise, or a fake in tests)."""

    timeout = Float(
        10.0,
        help="""Seconds to wait for GitHub's API before saying it cannot be reached, e.g.
        `c.GitHub.timeout = 30` for a slow GitHub Enterprise.""",
    ).tag(config=True)

    def __init__(self, api_url: str, web_url: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api_url = api_url.rstrip("/")
        self.web_host = urlparse(web_url).netloc
        self.client = httpx.Client(timeout=self.timeout)

    def handles(self, repo: str) -> bool:
        return urlparse(repo).netloc == self.web_host

    def needs_token(self, repo: str) -> bool:
        return True

    def _name(self, repo: str) -> str:
        parts = urlparse(repo).path.strip("/").removesuffix(".git").split("/")
        if len(parts) != 2 or not all(parts):
            raise RepositoryError(
                f"{repo} is not a repository URL like https://github.com/org/repo"
            )
        return "/".join(parts)

    def _get(self, url: str, token: str | None, accept: str) -> httpx.Response:
        headers = {"Accept": accept, "X-GitHub-Api-Version": "2022-11-28"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        try:
            return self.client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise RepositoryError(f"GitHub cannot be reached ({type(exc).__name__})") from None

    def head(self, repo: str, branch: str, token: str | None) -> str:
        name = self._name(repo)
        response = self._get(
            f"{self.api_url}/repos/{name}/commits/{branch}", token, "application/vnd.github.sha"
        )
        if response.status_code in (401, 403):
            raise RepositoryError("GitHub refused the token: save a new one in your settings")
        if response.status_code != 200 or not SHA.match(response.text.strip()):
            raise RepositoryError(
                f"the branch {branch!r} does not exist in {name}, or it is private"
            )
        return response.text.strip()

    def read(self, repo: str, sha: str, path: str, token: str | None) -> str:
        name = self._name(repo)
        response = self._get(
            f"{self.api_url}/repos/{name}/contents/{path}?ref={sha}",
            token,
            "application/vnd.github+json",
        )
        if response.status_code in (401, 403):
            raise RepositoryError("GitHub refused the token: save a new one in your settings")
        if response.status_code == 404:
            raise FileMissing(f"there is no {path} at commit {sha[:12]} of {name}")
        if response.status_code != 200:
            raise RepositoryError(f"there is no {path} at commit {sha[:12]} of {name}")
        body = response.json()
        if not isinstance(body, dict) or body.get("type") != "file":
            raise RepositoryError(f"{path} at commit {sha[:12]} of {name} is not a file")
        return base64.b64decode(body.get("content", "")).decode("utf-8")


class Repositories(RepositorySource):
    """Sends each repository to the source that handles it."""

    def __init__(self, *sources: RepositorySource, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sources = sources

    def _source(self, repo: str) -> RepositorySource:
        for source in self.sources:
            if source.handles(repo):  # type: ignore[attr-defined]
                return source
        raise RepositoryError(
            f"{repo} is not a repository this job server can read: give an https://github.com/ URL"
        )

    def head(self, repo: str, branch: str, token: str | None) -> str:
        return self._source(repo).head(repo, branch, token)

    def read(self, repo: str, sha: str, path: str, token: str | None) -> str:
        return self._source(repo).read(repo, sha, path, token)

    def needs_token(self, repo: str) -> bool:
        return self._source(repo).needs_token(repo)

    def handles(self, repo: str) -> bool:
        return any(source.handles(repo) for source in self.sources)  # type: ignore[attr-defined]
