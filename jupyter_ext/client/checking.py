"""The pre-release rules over files in the notebook, before anyone is asked to look at them.

The rules are the backend's own (its runner reports them; the job server serves them on
the backend), run by the same code the runner and the job server run, so a file that
passes here passes there, unless the site changed its rules since. Only files inside the
workspace may be checked: a release can only ask for those.
"""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import schema
from ._http import Call
from .errors import ClientError

Paths = str | os.PathLike | Iterable[str | os.PathLike]


def local_files(paths: Paths, workspace_dir: str | os.PathLike | None) -> list[tuple[Path, str]]:
    """Each file and its path in the workspace; a path that leads out of it, or to no file,
    is refused before anything is read."""
    root = Path(workspace_dir if workspace_dir is not None else Path.cwd()).resolve()
    if not root.is_dir():
        raise ClientError(f"the workspace folder {root} is not a folder")
    given = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    return [_inside(root, Path(path)) for path in given]


def _inside(root: Path, path: Path) -> tuple[Path, str]:
    found = (root / path).resolve()  # links followed: a link out of the workspace leads out
    if not found.is_relative_to(root):
        raise ClientError(
            f"{str(path)!r} is outside the workspace folder {root}: only files inside it can "
            "be released; give a path relative to it"
        )
    if not found.is_file():
        raise ClientError(f"{str(path)!r} is not a file in {root}: check the path")
    return found, found.relative_to(root).as_posix()


def check_files(files: list[tuple[Path, str]], rules: schema.ReleaseRules) -> list[Any]:
    return [schema.check_file(path, rules, name) for path, name in files]


def rules_call(backend: str) -> Call:
    """The backend's rules, as its runner last reported them (else the defaults)."""
    return Call(
        "GET",
        f"backends/{quote(backend, safe='')}",
        parse=lambda r: schema.ReleaseRules.model_validate(r.json()["release_rules"]),
    )


def check(client: Any, paths: Paths, backend: str | None, workspace_dir: Any) -> Any:
    """The checks, or on an AsyncClient an awaitable of them (files read in a thread)."""
    files = local_files(paths, workspace_dir)
    backend = backend or client.config.backend
    rules = client._send(rules_call(backend)) if backend else schema.ReleaseRules()
    if inspect.iscoroutinefunction(client._send):
        return _check_async(files, rules)
    return check_files(files, rules)


async def _check_async(files: list[tuple[Path, str]], rules: Any) -> list[Any]:
    if inspect.isawaitable(rules):
        rules = await rules
    return await asyncio.to_thread(check_files, files, rules)
