"""The checkout's state: jobs run at the pushed commit, not at the files on screen.

So the panel warns when files have uncommitted changes, when commits are not
pushed, or when the branch is not the workspace's.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

SHOWN_FILES = 20
# folders editors and JupyterLab write beside the files, at any depth: not work a job would miss
EDITOR_FOLDERS = frozenset({".ipynb_checkpoints", ".virtual_documents"})


async def _git(root: Path, *args: str) -> str | None:
    """git's answer, or None where git has none (no upstream, not a repository)."""
    process = await asyncio.create_subprocess_exec(
        "git",
        "-C",
        str(root),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    out, _ = await process.communicate()
    return out.decode(errors="replace").strip() if process.returncode == 0 else None


async def checkout_state(root: Path, branch: str | None = None) -> dict:
    """Branch, commit, what is not committed or not pushed, and a warning for each."""
    head, current = await asyncio.gather(
        _git(root, "rev-parse", "HEAD"), _git(root, "rev-parse", "--abbrev-ref", "HEAD")
    )
    if head is None:
        return {
            "is_repository": False,
            "warnings": [
                f"{root} is not a git checkout: jobs run what is pushed to the "
                "workspace's repository"
            ],
        }
    status, upstream, ahead, behind = await asyncio.gather(
        _git(root, "status", "--porcelain", "--untracked-files=normal"),
        _git(root, "rev-parse", "@{upstream}"),
        _git(root, "rev-list", "--count", "@{upstream}..HEAD"),
        _git(root, "rev-list", "--count", "HEAD..@{upstream}"),
    )
    changed = [
        line[3:]
        for line in (status or "").splitlines()
        if not EDITOR_FOLDERS.intersection(line[3:].strip('"').split("/"))
    ]
    state = {
        "is_repository": True,
        "branch": current,
        "head": head,
        "upstream": upstream,
        "uncommitted": changed[:SHOWN_FILES],
        "uncommitted_count": len(changed),
        "unpushed": int(ahead or 0),
        "behind": int(behind or 0),
    }
    state["warnings"] = _warnings(state, branch)
    return state


def _warnings(state: dict, branch: str | None) -> list[str]:
    found = []
    if branch and state["branch"] != branch:
        found.append(
            f"the checkout is on {state['branch']}, but jobs run the workspace's branch {branch}"
        )
    if state["uncommitted_count"]:
        n = state["uncommitted_count"]
        found.append(
            f"{n} file{'s' if n > 1 else ''} with changes not committed: jobs run the "
            "pushed commit, not the files on screen"
        )
    if state["upstream"] is None:
        found.append("the branch is not pushed: jobs run what is pushed to the repository")
    elif state["unpushed"]:
        n = state["unpushed"]
        found.append(f"{n} commit{'s' if n > 1 else ''} not pushed: jobs run the pushed commit")
    return found
