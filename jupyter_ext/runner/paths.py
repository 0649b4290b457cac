"""The runner's one way to turn what it was sent into a path on the site.

Every name a lease carries (identifier, workspace, action, needs, outputs, datasets), and
every path read back from a record or a list, becomes a path only through `inside`: it
joins, resolves the result (symbolic links included, also below a tail that does not
exist yet: the deepest existing folder is resolved and the rest may not climb out of it)
and refuses anything that is not strictly below the folder it belongs to. The path it
returns is the resolved one, so a caller never acts on a `..` or a link again.

`safe_name` checks one path component by the pipeline's one rule (`pipeline/names.py`): the
pipeline refuses the same names in project.yaml (a clear error for the analyst); the runner
checks again because it trusts no job server. `PathEscape` says what is wrong in words that
name no path of the site: the sentence may become a job's status message.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path, PurePosixPath

from ..pipeline.names import SAFE_NAME_RULE, is_safe_name

MAX_LINKS = 40  # as the kernel: more links than this on one path is a loop


class PathEscape(Exception):
    """A name or path would leave its folder (or is not one name): the job is refused."""


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:77]}..."


def safe_name(name: object, what: str = "a name") -> str:
    """`name` if it is one safe path component, else PathEscape saying which characters."""
    if not is_safe_name(name):
        raise PathEscape(f"{what} {_shown(name)} is not one safe name: {SAFE_NAME_RULE}")
    return name


def safe_relative(path: object, what: str = "a path") -> str:
    """`path` if it is relative, POSIX, without `..` or empty parts: a path that stays below
    the folder it is joined to (before links; `inside` checks those)."""
    problem = None
    if not isinstance(path, str) or not path or "\0" in path:
        problem = "is empty or not text"
    elif "\\" in path:
        problem = "has a backslash: use '/'"
    elif PurePosixPath(path).is_absolute():
        problem = "is absolute: give it relative to the job's folder"
    elif ".." in path.split("/"):
        problem = "climbs out with '..'"
    if problem:
        raise PathEscape(f"{what} {_shown(path)} {problem}")
    return path


def inside(root: Path | str, *parts: str) -> Path:
    """`root` joined with `parts`, resolved, if it is strictly below resolved `root`.

    An absolute part, a `..` that climbs out, a link (anywhere on the way) that points out,
    a loop of links or a NUL all raise PathEscape. The tail may not exist yet."""
    for part in parts:
        if not isinstance(part, str | os.PathLike) or "\0" in os.fspath(part):
            raise PathEscape(f"{_shown(part)} is not a path")
    base = _resolve(os.path.abspath(root))
    shown = _shown("/".join(os.fspath(p) for p in parts))
    resolved = _resolve(os.path.join(base, *parts), shown)
    if base not in resolved.parents:
        raise PathEscape(f"{shown} leads out of its folder")
    return resolved


def _resolve(path: str, shown: str = "the folder") -> Path:
    """`path` (absolute) with every link followed and every `..` applied, as the kernel would
    walk it; past the first part that does not exist the rest is applied as written."""
    todo = list(reversed(path.split("/")))
    done, missing, hops = "/", False, 0
    while todo:
        part = todo.pop()
        if part in ("", "."):
            continue
        if part == "..":
            done = os.path.dirname(done)
            continue
        candidate = os.path.join(done, part)
        if not missing:
            try:
                info = os.lstat(candidate)
            except (FileNotFoundError, NotADirectoryError):
                missing = True
            except OSError:
                raise PathEscape(f"{shown} cannot be looked at on this site") from None
            else:
                if stat.S_ISLNK(info.st_mode):
                    hops += 1
                    if hops > MAX_LINKS:
                        raise PathEscape(f"{shown} goes through a loop of links")
                    target = os.readlink(candidate)
                    if target.startswith("/"):
                        done = "/"
                    todo.extend(reversed(target.split("/")))
                    continue
        done = candidate
    return Path(done)


def open_below(root: Path | str, relative: str) -> int:
    """A read-only descriptor of the regular file `relative` below `root`, reached without
    following any link: each folder on the way is opened from the one before with
    O_NOFOLLOW, so a job that swaps a folder for a link meanwhile gains nothing. For files a
    job wrote; PathEscape if a part is a link, or the file is not a regular one."""
    parts = safe_relative(relative, "the file").split("/")
    here = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            if part in ("", "."):
                continue
            below = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=here)
            os.close(here)
            here = below
        # O_NONBLOCK: a FIFO the job left does not hang the runner; no effect on a file
        fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=here)
    except OSError:
        raise PathEscape(f"{_shown(relative)} is a link, or behind one") from None
    finally:
        os.close(here)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise PathEscape(f"{_shown(relative)} is not a regular file")
    return fd
