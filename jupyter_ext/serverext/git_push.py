"""`POST jupyter-ext/git/commit-push`: commit the named files and push, when the user clicks.

Jobs run what is pushed, so after adding a notebook as an action the toolbar offers one
click that commits exactly the files named (`{"paths": ["project.yaml",
"analysis/explore.ipynb"], "message": "Add explore as an action"}`: other changes in the
checkout, staged or not, stay as they were) and pushes the branch to its upstream, through the
workspace's own git. Credentials are git's business: the hub gives the server an askpass
helper with the user's token (hub_config/hubext/git.py), never in a URL or an argument. Each
path goes through the workspace's one safe join. git's refusals are said in a sentence with
any token or credentials in a URL taken out.
"""

from __future__ import annotations

import asyncio
import os
import posixpath
import re
from pathlib import Path

from jupyter_server.auth.decorator import authorized
from tornado import web

from .checkout import checkout_state
from .handlers import Base
from .paths import workspace_path

MAX_PATHS = 100
MAX_MESSAGE = 5000
GIT_TIMEOUT = 120.0  # seconds a push may take before it is given up
HINT = "name files of the workspace by their path from the top, e.g. project.yaml"
CREDENTIALS_IN_URL = re.compile(r"(\w+://)[^/\s@]+@")
SECRET_ENVIRONMENT = ("JUPYTER_EXT_GIT_TOKEN", "JUPYTER_EXT_TOKEN", "JUPYTERHUB_API_TOKEN")


class GitError(Exception):
    """git said no; the message is its last words, with no secret in them."""


def scrubbed(text: str) -> str:
    """git's words without a token or `user:password@` in a URL."""
    text = CREDENTIALS_IN_URL.sub(r"\1***@", text)
    for name in SECRET_ENVIRONMENT:
        secret = os.environ.get(name)
        if secret and len(secret) >= 8:
            text = text.replace(secret, "***")
    return text


async def git(root: Path, *args: str, timeout: float = 30.0) -> str:
    """git's output, or GitError with what it said (never a prompt: it cannot be answered)."""
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0"}
    process = await asyncio.create_subprocess_exec(
        "git",
        "-C",
        str(root),
        *args,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), timeout)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise GitError(f"git {args[0]} took longer than {timeout:g} s") from None
    if process.returncode != 0:
        lines = [
            line.strip()
            for line in (err or out).decode(errors="replace").splitlines()
            if line.strip() and not line.lstrip().startswith("hint:")
        ]
        raise GitError(scrubbed("; ".join(lines[-3:]) or f"git {args[0]} failed"))
    return out.decode(errors="replace").strip()


async def identity(root: Path) -> list[str]:
    """`-c user.name=... -c user.email=...` when git knows no author (a fresh server), from
    the hub's user name; nothing when the user's own git config says who they are."""
    try:
        await git(root, "config", "user.email")
        return []
    except GitError:
        user = os.environ.get("JUPYTERHUB_USER") or "jupyter-ext user"
        email = re.sub(r"[^A-Za-z0-9._-]", "-", user) + "@users.noreply.github.com"
        return ["-c", f"user.name={user}", "-c", f"user.email={email}"]


class CommitPushHandler(Base):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.get_json_body() or {}
        paths, message = body.get("paths"), body.get("message")
        if (
            not isinstance(paths, list)
            or not 0 < len(paths) <= MAX_PATHS
            or not all(isinstance(p, str) and p.strip() for p in paths)
        ):
            raise web.HTTPError(400, f'give "paths": a list of 1 to {MAX_PATHS} files; {HINT}')
        if not isinstance(message, str) or not message.strip() or len(message) > MAX_MESSAGE:
            raise web.HTTPError(400, 'give "message": what the commit does, in a sentence')
        root = Path(self.ext.root_dir).resolve()
        named = []
        for path in paths:  # refused before git is asked, saying which way it leaves
            workspace_path(root, path, kind="file", use="committed", hint=HINT)
            named.append(posixpath.normpath(path))
        try:
            answer = await self.commit_and_push(root, named, message.strip())
        except GitError as exc:
            raise web.HTTPError(409, f"{exc.args[0]}") from None
        answer["checkout"] = await checkout_state(root, answer["branch"])
        self.write_json(answer)

    async def commit_and_push(self, root: Path, paths: list[str], message: str) -> dict:
        try:
            branch = await git(root, "symbolic-ref", "--short", "HEAD")
        except GitError:
            raise GitError(
                "the checkout is not on a branch (or not a git checkout): check out the "
                "workspace's branch first"
            ) from None
        wanted = os.environ.get("JUPYTER_EXT_BRANCH")
        if wanted and wanted != branch:
            raise GitError(
                f"the checkout is on {branch}, but jobs run the workspace's branch {wanted}: "
                f"check out {wanted} first"
            )
        await git(root, "add", "--", *paths)
        changed = await git(root, "status", "--porcelain", "--", *paths)
        committed = None
        if changed:
            try:
                await git(root, *await identity(root), "commit", "-q", "-m", message, "--", *paths)
            except GitError as exc:
                raise GitError(f"git could not commit: {exc}") from None
            committed = await git(root, "rev-parse", "HEAD")
        try:
            upstream = await git(root, "rev-parse", "--abbrev-ref", "--symbolic-full-name", "@{u}")
        except GitError:
            upstream = None
        remote, _, target = (upstream or f"origin/{branch}").partition("/")
        try:
            await git(root, "push", remote, f"HEAD:refs/heads/{target}", timeout=GIT_TIMEOUT)
        except GitError as exc:
            made = f"committed {committed[:7]}, but " if committed else ""
            raise GitError(f"{made}git could not push {branch} to {remote}: {exc}") from None
        if upstream is None:  # pushed for the first time: follow it from now on
            await git(root, "branch", "--set-upstream-to", f"{remote}/{target}", branch)
        return {
            "branch": branch,
            "commit": committed or await git(root, "rev-parse", "HEAD"),
            "committed": committed is not None,
            "pushed": True,
            "paths": paths,
        }
