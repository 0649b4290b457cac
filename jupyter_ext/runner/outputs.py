"""Take a finished job's outputs from its folder into the site's store, trusting none of it.

The job wrote its folder, so every file there is hostile until copied: each matched output
is opened without following a link (`paths.open_below`: no link on the way, a regular file
at the end), and its bytes are copied into the content-addressed store while they are
hashed, so its recorded size and sha256 are those of the bytes kept, whatever the job does
to the file later. Before a file is opened their number is checked against the backend's
limit (`c.RunnerApp.max_outputs`): a job may not make the site hold, hash, report and store
a hundred thousand files. Before a byte is copied the outputs' sizes are added up against
the backend's quota (`c.RunnerApp.outputs_quota_mb`); a job over either keeps nothing, and
a file that grows (or is swapped) while it is copied is caught by the same count. One file
is open at a time, so the number of outputs never meets the process's limit on open files.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from ..schema.runner import MAX_OUTPUTS
from .paths import PathEscape, open_below
from .provenance import OutputsTooBig, Store


class OutputRefused(Exception):
    """The job's outputs will not be kept; the message is the job's status message."""


def take_outputs(
    job_dir: Path,
    paths: list[str],
    store: Store,
    quota: int,
    name_them: bool = True,
    most: int = MAX_OUTPUTS,
) -> dict[str, tuple[str, int]]:
    """Each output path -> (sha256, size) of its bytes, now in the store.

    `name_them` False (a backend that sends no job-chosen text) keeps the outputs' paths,
    number and sizes out of the refusal's sentence."""
    if len(paths) > most:
        raise OutputRefused(too_many(len(paths), most, name_them))
    total = 0
    for path in paths:
        fd = _opened(job_dir, path, name_them)
        try:
            total += os.fstat(fd).st_size
        finally:
            os.close(fd)
    if total > quota:
        raise OutputRefused(too_big(total, quota, name_them))
    added: list[str] = []
    try:
        left, kept = quota, {}
        for path in paths:
            fd = _opened(job_dir, path, name_them)
            try:
                sha256, size, new = store.take(fd, left)
            except OutputsTooBig as exc:
                raise OutputRefused(too_big(quota - left + exc.size, quota, name_them)) from None
            finally:
                os.close(fd)
            if new:
                added.append(sha256)
            left -= size
            kept[path] = (sha256, size)
        added.clear()  # all kept: nothing to take back
        return kept
    finally:
        for sha256 in added:  # a job refused keeps nothing it brought
            with contextlib.suppress(OSError):
                store.path(sha256).unlink()


def _opened(job_dir: Path, path: str, name_them: bool) -> int:
    """The output's descriptor (see `open_below`), or the job's refusal in the runner's words."""
    try:
        return open_below(job_dir, path)
    except PathEscape:
        which = f"the output {path}" if name_them else "an output"
        why = "is a symbolic link, is reached through one, or is not a regular file"
        raise OutputRefused(f"{which} {why}: none is kept") from None


def too_many(count: int, most: int, name_them: bool) -> str:
    limit = f"this backend's limit of {most:,}"
    if not name_them:  # how many files matched is the job's choice
        return f"its outputs are more files than {limit}: none is kept"
    return f"its outputs are {count:,} files, over {limit}: none is kept"


def too_big(size: int, quota: int, name_them: bool) -> str:
    limit = f"this backend's limit of {human(quota)}"
    if not name_them:
        return f"its outputs are over {limit}: none is kept"
    return f"its outputs are {human(size)}, over {limit}: none is kept"


def human(size: int) -> str:
    """1.2 GB, 512 MB, 3 KB, 17 bytes: as the limit's reader thinks of it."""
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if size >= scale:
            value = size / scale
            return f"{value:.1f} {unit}".replace(".0 ", " ")
    return f"{size} bytes"
