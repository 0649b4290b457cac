"""What a job used (CPU, wall time, peak memory, bytes written) and the sums of it.

A runner measures each job in its executor and sends `JobUsage` with the job's end (on
`StatusUpdate.usage`); a figure an executor cannot know is None. The job server keeps the
figures as columns of the job and sums them per project, backend or user (`UsageRow`).

The job server takes what a runner says as hostile: each figure is bounded (non-negative,
finite, below the maxima here). A usage outside them is dropped, not refused: the job's
end is what matters and is recorded all the same, without figures, and the job server logs
why (`StatusUpdate.usage_refused`). A runner would otherwise lose the end of a job over a
figure nobody can correct.
"""

from __future__ import annotations

import csv
import io
from typing import Literal

from pydantic import Field

from .common import Model

MAX_CPU_SECONDS = 1e9  # about 32 CPU-years: a thousand cores busy for eleven days
MAX_WALL_SECONDS = 1e8  # about three years
MAX_MEMORY_BYTES = 2**50  # a pebibyte
MAX_BYTES_WRITTEN = 2**53  # eight pebibytes, still exact as a float
USAGE_GROUPS = ("project", "backend", "user")
UsageGroup = Literal["project", "backend", "user"]


class JobUsage(Model):
    """What one job used, as its runner measured it (None where its executor cannot know)."""

    cpu_seconds: float | None = Field(
        None,
        ge=0,
        le=MAX_CPU_SECONDS,
        allow_inf_nan=False,
        description="User and system CPU time of the job's processes.",
    )
    wall_seconds: float = Field(
        ge=0,
        le=MAX_WALL_SECONDS,
        allow_inf_nan=False,
        description="From its start to its end (not the time it waited in a queue).",
    )
    peak_memory_bytes: int | None = Field(
        None,
        ge=0,
        le=MAX_MEMORY_BYTES,
        description="The most memory it held at once, as its executor counts it (the largest "
        "process's resident set locally; the container's or the Slurm job's cgroup peak).",
    )
    bytes_written: int | None = Field(
        None,
        ge=0,
        le=MAX_BYTES_WRITTEN,
        description="Bytes of the files it made or changed in its folder, measured by the "
        "runner when it ended (the same measure on every executor; not what it wrote to /tmp).",
    )

    def words(self) -> str:
        """'CPU 1.2 s · wall 3.4 s · peak memory 52 MB · wrote 1.1 MB' (unknown ones left out)."""
        said = []
        if self.cpu_seconds is not None:
            said.append(f"CPU {seconds_text(self.cpu_seconds)}")
        said.append(f"wall {seconds_text(self.wall_seconds)}")
        if self.peak_memory_bytes is not None:
            said.append(f"peak memory {bytes_text(self.peak_memory_bytes)}")
        if self.bytes_written is not None:
            said.append(f"wrote {bytes_text(self.bytes_written)}")
        return " · ".join(said)


class UsageRow(Model):
    """The sums of one project's, backend's or user's jobs that ended in a range of days."""

    group: UsageGroup
    name: str = Field(description="The project's or backend's slug, or the user's name.")
    jobs: int = Field(description="Jobs that ended in the range (with figures or not).")
    measured: int = Field(description="Of those, the jobs whose runner sent their usage.")
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    peak_memory_bytes: int | None = Field(
        None, description="The largest peak of any one job (a maximum, not a sum)."
    )
    bytes_written: int = 0


CSV_COLUMNS = (
    "group",
    "name",
    "jobs",
    "measured",
    "cpu_seconds",
    "wall_seconds",
    "peak_memory_bytes",
    "bytes_written",
)


def usage_csv(rows: list[UsageRow]) -> str:
    """The rows as CSV with a header (`CSV_COLUMNS`); an unknown peak is an empty cell."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        values = row.model_dump()
        writer.writerow(["" if values[c] is None else values[c] for c in CSV_COLUMNS])
    return out.getvalue()


def seconds_text(seconds: float) -> str:
    """0.04 s, 3.4 s, 12.5 min, 3.1 h."""
    if seconds < 0.1:
        return f"{seconds:.2f} s"
    if seconds < 600:
        return f"{seconds:.1f} s"
    if seconds < 36_000:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def bytes_text(count: int) -> str:
    """812 bytes, 1.1 MB, 52 MB, 3.4 GB (units of 1000, as disks and memory sticks say)."""
    if count < 1000:
        return f"{count} bytes"
    value = float(count)
    for unit in ("kB", "MB", "GB", "TB", "PB"):
        value /= 1000
        if value < 999.5 or unit == "PB":
            return f"{value:.1f} {unit}" if value < 9.95 else f"{value:.0f} {unit}"
    raise AssertionError("unreachable")
