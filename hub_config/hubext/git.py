"""Clone a workspace's repository at its branch, with the user's GitHub token kept secret.

git asks for credentials through an askpass helper that reads the token from
its environment: the token never appears in a URL, an argument list, a log
line or a file. The spawned server gets the same helper, so `git pull` and
`git push` from JupyterLab work with the same token.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

ASKPASS = Path(__file__).with_name("askpass.sh")


class CloneError(Exception):
    """The repository could not be cloned; the sentence says why (never with the token)."""


def git_environment(token: str | None) -> dict[str, str]:
    """What git needs to ask for credentials through the askpass helper only."""
    env = {"GIT_TERMINAL_PROMPT": "0"}
    if token:
        env |= {"GIT_ASKPASS": str(ASKPASS), "JUPYTER_EXT_GIT_TOKEN": token}
    return env


async def clone(repo: str, branch: str, dest: Path, token: str | None) -> bool:
    """Clone into `dest` unless it is a checkout already (the user's work is never touched).

    Returns whether it cloned."""
    if (dest / ".git").exists():
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": tempfile.gettempdir(),
        "GIT_CONFIG_NOSYSTEM": "1",
        **git_environment(token),
    }
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".clone-") as tmp:
        process = await asyncio.create_subprocess_exec(
            "git",
            "clone",
            "--quiet",
            "--branch",
            branch,
            repo,
            f"{tmp}/c",
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await process.communicate()
        if process.returncode != 0:
            lines = err.decode(errors="replace").strip().splitlines()
            text = lines[-1] if lines else "git clone failed"
            raise CloneError(text.replace(token, "***") if token else text)
        os.replace(f"{tmp}/c", dest)
    return True
