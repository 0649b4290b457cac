"""Take a finished job's outputs from its folder into the site's store, trusting none of it.

The job wrote its folder, so every file there is hostile until copied: each matched output
is opened without following a link (`paths.open_below`: no link on the way, a regular file
at the end), and its bytes are copied into the content-addressed store while they are
hashed, so its recorded size and sha256 are those of the bytes kept, whatever the job does
to the file later. Before a byte is copied the outputs' sizes are added up against the
backend's quota (`c.RunnerApp.outputs_quota_mb`); a job over it keeps nothing, and a file
that grows while it is copied is caught by the same count.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from .paths import PathEscape, open_below
from .provenance import OutputsTooBig, Store


class OutputRefused(Exception):
    """The job's outputs will not be kept; the message is the job's status message."""


def take_outputs(
    job_dir: Path, paths: list[str], store: Store, quota: int, name_them: bool = True
) -> dict[str, tuple[str, int]]:
    """Each output path -> (sha256, size) of its bytes, now in the store.

    `name_them` False (a backend that sends no job-chosen text) keeps the outputs' paths and
    sizes out of the refusal's sentence."""
    opened: dict[str, int] = {}
    added: list[str] = []
    try:
        for path in paths:
            try:
                opened[path] = open_below(job_dir, path)
            except PathEscape:
                which = f"the output {path}" if name_them else "an output"
                why = "is a symbolic link, is reached through one, or is not a regular file"
                raise OutputRefused(f"{which} {why}: none is kept") from None
        total = sum(os.fstat(fd).st_size for fd in opened.values())
        if total > quota:
            raise OutputRefused(too_big(total, quota, name_them))
        left, kept = quota, {}
        for path, fd in opened.items():
            try:
                sha256, size, new = store.take(fd, left)
            except OutputsTooBig as exc:
                raise OutputRefused(too_big(quota - left + exc.size, quota, name_them)) from None
            if new:
                added.append(sha256)
            left -= size
            kept[path] = (sha256, size)
        added.clear()  # all kept: nothing to take back
        return kept
    finally:
        for fd in opened.values():
            os.close(fd)
        for sha256 in added:  # a job refused keeps nothing it brought
            with contextlib.suppress(OSError):
                store.path(sha256).unlink()


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
