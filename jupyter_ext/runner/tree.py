"""Write a commit's tree from `git archive`'s tar stream without ever following a link.

`tarfile.extractall(filter="data")` checks each link as it meets it, in the archive's
order: a link `a -> b/c` checked while `b` does not exist passes, and `b -> ../../..`
written after it turns `a` into a way out of the checkout. Here no link exists while
anything is written: folders and files come first, each opened from its folder's
descriptor with O_NOFOLLOW (a link met on the way refuses, never is followed); links are
made last; then every link is resolved, hop by hop, against the finished tree, and one
that leads out, loops or is absolute refuses the whole tree. `tarfile` only parses the
stream (its extraction is never used), so Python's version does not matter.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tarfile
from collections import deque
from pathlib import Path
from typing import BinaryIO

MAX_HOPS = 40  # links followed while resolving one path, as Linux allows
CHUNK = 1 << 20
DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
FILE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class TreeRefused(Exception):
    """An entry of the repository cannot be written safely; the sentence names it."""


def write_tree(stream: BinaryIO, root: Path) -> None:
    """Write the tar `stream` under the empty folder `root`; raise TreeRefused (with what is
    already written left for the caller to remove) if any entry would leave it."""
    links: list[tuple[list[str], str]] = []
    root_fd = os.open(root, DIR_FLAGS)
    try:
        with tarfile.open(fileobj=stream, mode="r|") as tar:
            for member in tar:
                parts = entry_parts(member.name)
                if not parts:
                    continue  # the tree's root itself
                if member.isdir():
                    os.close(_folder(root_fd, parts, member.name))
                elif member.isreg():
                    _write_file(root_fd, parts, member, tar.extractfile(member))
                elif member.issym():
                    links.append((parts, member.linkname))
                else:
                    raise TreeRefused(
                        f"the entry {member.name!r} is neither a file, a folder nor a symbolic "
                        "link: remove it from the repository"
                    )
        for parts, target in links:
            _make_link(root_fd, parts, target)
    except tarfile.TarError as exc:
        raise TreeRefused(f"git's archive of it could not be read: {exc}") from None
    finally:
        os.close(root_fd)
    for parts, target in links:  # the whole tree is there: resolve each link in it
        if leads_out(root, parts):
            raise TreeRefused(
                f"the symbolic link {'/'.join(parts)!r} -> {target!r} leads outside the "
                "repository: remove it, or make it point to a path inside the repository"
            )


def entry_parts(name: str) -> list[str]:
    """The path components of an archive entry, refused if it is absolute or has `..`."""
    name = name.rstrip("/")
    if name in ("", "."):
        return []
    parts = name.split("/")
    if name.startswith("/") or any(part in ("", ".", "..") for part in parts) or "\0" in name:
        raise TreeRefused(f"the entry {name!r} is not a plain path inside the repository")
    return parts


def leads_out(root: Path, parts: list[str]) -> bool:
    """Whether the path `parts` (under `root`) resolves outside `root`, following each link
    the way the kernel would; a loop or an absolute target counts as out."""
    pending = deque(parts)
    resolved: list[str] = []
    hops = 0
    while pending:
        part = pending.popleft()
        if part in ("", "."):
            continue
        if part == "..":
            if not resolved:
                return True  # above the root
            resolved.pop()
            continue
        here = os.path.join(root, *resolved, part)
        if not os.path.islink(here):
            resolved.append(part)
            continue
        hops += 1
        target = os.readlink(here)
        if hops > MAX_HOPS or target.startswith("/"):
            return True
        pending.extendleft(reversed(target.split("/")))  # relative to the link's folder
    return False


def _folder(root_fd: int, parts: list[str], name: str) -> int:
    """A descriptor of the folder `parts` under the root, made as needed; never through a
    link (O_NOFOLLOW on every component)."""
    fd = os.dup(root_fd)
    try:
        for part in parts:
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o755, dir_fd=fd)
            try:
                child = os.open(part, DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise TreeRefused(
                        f"the entry {name!r} would be written through a link or a file"
                    ) from None
                raise
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _write_file(root_fd: int, parts: list[str], member: tarfile.TarInfo, data) -> None:
    folder = _folder(root_fd, parts[:-1], member.name)
    mode = 0o755 if member.mode & 0o100 else 0o644
    try:
        fd = os.open(parts[-1], FILE_FLAGS, mode, dir_fd=folder)
    except FileExistsError:
        raise TreeRefused(f"the entry {member.name!r} appears twice") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise TreeRefused(
                f"the entry {member.name!r} would be written through a link"
            ) from None
        raise
    finally:
        os.close(folder)
    with open(fd, "wb", closefd=True) as out:
        while chunk := data.read(CHUNK):
            out.write(chunk)


def _make_link(root_fd: int, parts: list[str], target: str) -> None:
    name = "/".join(parts)
    if not target or target.startswith("/") or "\0" in target:
        raise TreeRefused(
            f"the symbolic link {name!r} -> {target!r} is absolute: make it point to a path "
            "inside the repository, relative to the link"
        )
    folder = _folder(root_fd, parts[:-1], name)
    try:
        os.symlink(target, parts[-1], dir_fd=folder)
    except FileExistsError:
        raise TreeRefused(f"the entry {name!r} appears twice") from None
    finally:
        os.close(folder)
