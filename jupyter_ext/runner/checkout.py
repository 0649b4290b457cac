"""Check a workspace's repository out at a commit, with the user's token kept secret.

git asks for credentials through an askpass helper that reads the token from
its environment: the token is never in a URL, an argument list, a log line or
a file left on disk. A bare cache per repository means a second job of the
same workspace fetches only what is new.

The commit's files are written by `tree.write_tree` from `git archive`'s stream, never
by `tarfile`'s extraction: no write goes through a link, links are made last, and
every link is checked once the whole tree is there (see that module for why).
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

from .tree import TreeRefused, write_tree

ASKPASS = (
    "#!/bin/sh\n"
    'case "$1" in Username*) echo x-access-token ;; *) echo "$JUPYTER_EXT_GIT_TOKEN" ;; esac\n'
)


class CheckoutError(Exception):
    """The repository or commit cannot be had, said as what to fix."""


def _env() -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "GIT_TERMINAL_PROMPT": "0",
        "HOME": tempfile.gettempdir(),
        "GIT_CONFIG_NOSYSTEM": "1",
    }


async def _git(*args: str, cwd: Path | None = None, token: str | None = None) -> bytes:
    env = _env()
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
    """`dest` holds the repository's files at `sha` (and no .git of its own), every link in it
    leading inside it; or `dest` is not there and CheckoutError says which entry was refused."""
    mirror = cache / hashlib.sha256(repo.encode()).hexdigest()[:16]
    key = (id(asyncio.get_running_loop()), mirror)
    async with _mirror_locks.setdefault(key, asyncio.Lock()):  # one repo's jobs take turns
        await _update_mirror(repo, sha, mirror, token)
    await asyncio.to_thread(_archive_into, mirror, sha, Path(dest))


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


def _archive_into(mirror: Path, sha: str, dest: Path) -> None:
    """Stream `git archive` into a fresh folder beside `dest`, check it, move it into place:
    `dest` is never seen half written or with a link out."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".checkout-", dir=dest.parent))
    try:
        with tempfile.TemporaryFile() as errors:
            process = subprocess.Popen(
                ["git", "archive", "--format=tar", sha],
                cwd=mirror,
                env=_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=errors,
            )
            try:
                refused = _write(process.stdout, staging)
                while process.stdout.read(1 << 16):  # the archive's padding after its end
                    pass
            except BaseException:
                process.kill()  # refused midway: git need not finish
                raise
            finally:
                process.stdout.close()
                process.wait()
            if process.returncode != 0:  # git's own sentence says more than an unread tar
                errors.seek(0)
                said = errors.read().decode(errors="replace").strip().splitlines()
                raise CheckoutError(said[-1] if said else "git archive failed")
            if refused:
                raise CheckoutError(f"the commit {sha[:12]} cannot be checked out: {refused}")
        if dest.is_symlink() or dest.exists():  # an empty folder made for it, or a stale one
            _remove(dest)
        os.chmod(staging, 0o755)  # as a folder made for it would be (mkdtemp's is 0700)
        os.rename(staging, dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _write(stream, staging: Path) -> str:
    """Write the tree; why it was refused, or ''."""
    try:
        write_tree(stream, staging)
    except TreeRefused as exc:
        return str(exc)
    return ""


def _remove(path: Path) -> None:
    if path.is_symlink() or not path.is_dir():
        path.unlink()
    else:
        shutil.rmtree(path)
