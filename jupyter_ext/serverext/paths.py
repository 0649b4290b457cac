"""Paths the browser names, as paths of the workspace: one safe join for every handler.

A handler is given paths from the top of the workspace (the server's root folder, as the file
browser shows them). `workspace_path` joins one to the root and refuses it, before anything is
read or written, if it could lead out: an absolute path, a `..` anywhere in it, or a link on
the way (or at its end) to somewhere outside. A link that stays inside is followed.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from tornado import web


def workspace_path(root: Path, path: str, *, kind: str, use: str, hint: str) -> Path:
    """`root/path` with every link on the way followed; a 400 if it would leave `root`.

    The refusal says what `path` is (`kind`: a file, a folder), what only the workspace's own
    may be (`use`: checked, written to) and what to name instead (`hint`); it names `path` as
    given, never where the server keeps things."""
    root = root.resolve()
    given = PurePosixPath(path)
    named = Path(os.path.normpath(root / path))  # an absolute path replaces root here
    if given.is_absolute() or ".." in given.parts or not named.is_relative_to(root):
        raise web.HTTPError(400, f"{path} is outside the workspace: {hint}")
    real = named.resolve()  # follows links, even where the rest does not exist yet
    if not real.is_relative_to(root):
        why = f"only the workspace's own {kind}s can be {use}"
        raise web.HTTPError(400, f"{path} is a link to a {kind} outside the workspace: {why}")
    return real


def links_out(folder: Path, root: Path) -> list[str]:
    """Links under `folder` (a folder of `root`, if it exists) that lead out of `root`, by their
    path from `folder`: writing below one would write outside the workspace."""
    root = root.resolve()
    found = []
    for top, dirs, files in os.walk(folder, followlinks=False):
        for name in dirs + files:
            entry = Path(top) / name
            if entry.is_symlink() and not entry.resolve().is_relative_to(root):
                found.append(entry.relative_to(folder).as_posix())
    return sorted(found)
