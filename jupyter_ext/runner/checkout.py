"""Check a workspace's repository out at a commit, with the user's token kept secret.

git asks for credentials through an askpass helper that reads the token from
its environment: the token is never in a URL, an argument list, a log line or
a file left on disk. A bare cache per repository means a second job of the
same workspace fetches only what is new.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import stat
import tarfile
import tempfile
from pathlib import Path

ASKPASS = (
    "#!/bin/sh\n"
    'case "$1" in Username*) echo x-access-token ;; *) echo "$JUPYTER_EXT_GIT_TOKEN" ;; esac\n'
)


class CheckoutError(Exception):
    """The repository or commit cannot be had, said as what to fix."""


async def _git(*args: str, cwd: Path | None = None, token: str | None = None) -> bytes:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_TERMINAL_PROMPT": "0",
        "HOME": tempfile.gettempdir(),
        "GIT_CONFIG_NOSYSTEM": "1",
    }
    askpass = None
    if token:
        fd, askpass = tempfile.mkstemp(prefix="askpass-")
        with os.fdopen(fd, "w") as f:
            f.write(ASKPASS)
        os.chmod(askpass, stat.S_IRWXU)
        env |= {"GIT_ASKPASS": askpass, "JUPYTER_EXT_GIT_TOKEN": token}
    try:
        process = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=cwd,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await process.communicate()
    finally:
        if askpass:
            os.unlink(askpass)
    if process.returncode != 0:
        message = err.decode(errors="replace").strip().splitlines()
        text = message[-1] if message else f"git {args[0]} failed"
        raise CheckoutError(text.replace(token, "***") if token else text)
    return out


_mirror_locks: dict[tuple[int, Path], asyncio.Lock] = {}  # per event loop and mirror


async def checkout(repo: str, sha: str, dest: Path, cache: Path, token: str | None) -> None:
    """`dest` holds the repository's files at `sha` (and no .git of its own)."""
    mirror = cache / hashlib.sha256(repo.encode()).hexdigest()[:16]
    key = (id(asyncio.get_running_loop()), mirror)
    async with _mirror_locks.setdefault(key, asyncio.Lock()):  # one repo's jobs take turns
        await _update_mirror(repo, sha, mirror, token)
    dest.mkdir(parents=True, exist_ok=True)
    archive = await _git("archive", "--format=tar", sha, cwd=mirror)  # no index, no lock
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")  # refuses links and paths out of `dest`


async def _update_mirror(repo: str, sha: str, mirror: Path, token: str | None) -> None:
    """The bare cache holds `sha`: cloned once (into place atomically), then fetched as needed."""
    if not (mirror / "HEAD").exists():
        mirror.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=mirror.parent) as tmp:
            try:
                await _git("clone", "--quiet", "--bare", repo, f"{tmp}/m", token=token)
            except CheckoutError as exc:
                raise CheckoutError(f"cannot clone {repo}: {exc}") from None
            os.replace(f"{tmp}/m", mirror)
    try:
        await _git("cat-file", "-e", f"{sha}^{{commit}}", cwd=mirror)
    except CheckoutError:
        try:
            await _git(
                "fetch", "--quiet", repo, "+refs/heads/*:refs/heads/*", cwd=mirror, token=token
            )
            await _git("cat-file", "-e", f"{sha}^{{commit}}", cwd=mirror)
        except CheckoutError:
            raise CheckoutError(f"the commit {sha} does not exist in {repo}") from None
