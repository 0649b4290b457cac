"""What a job used, as the runner measures it: the figures of `schema.JobUsage`.

Each executor measures what its engine can tell (`Execution.usage`):
- local: the job's own rusage, from `os.wait4` in a small wrapper (`measured_main.py`), so
  jobs running side by side never count each other's: CPU (user + system), the largest
  resident set of one of its processes, and the time from its start to its end;
- Docker: the container's stats, sampled while it runs (they are empty once it has ended):
  CPU up to the last sample (a lower bound: the last second or two may be missed), and the
  memory cgroup's peak (cgroup v1's `max_usage`; on cgroup v2, which keeps none, the
  largest sample);
- Slurm: what the sandbox's batch script read from the job's own cgroups before it removed
  them (CPU, memory peak) and its start and end; else `sacct` where the cluster keeps
  accounting; else `scontrol`'s run time (whole seconds) alone.
The runner adds the bytes written itself, the same way everywhere (`bytes_written`): the
bytes of the files the job made or changed in its folder, when it ended. Not what it wrote
to /tmp or overwrote and deleted; an engine's block I/O counts would say something else on
each engine (page cache, cgroup version), and sums across backends would mean nothing.

A figure an engine reports outside the schema's bounds is left out here (`job_usage`), so
an odd reading never fails a job. On a backend whose log policy sends no job-chosen text,
only the wall time leaves the site (`shareable`): the other figures are the job's to choose
(a job could write as many bytes, or hold as much memory, as a count it wants out).
"""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path

from ..schema.usage import (
    MAX_BYTES_WRITTEN,
    MAX_CPU_SECONDS,
    MAX_MEMORY_BYTES,
    MAX_WALL_SECONDS,
    JobUsage,
)

MEASURED_MAIN = Path(__file__).with_name("measured_main.py")


def job_usage(
    wall_seconds: float,
    cpu_seconds: float | None = None,
    peak_memory_bytes: int | None = None,
    bytes_written: int | None = None,
) -> JobUsage:
    """A `JobUsage` of an engine's figures, each kept only within the schema's bounds."""
    return JobUsage(
        wall_seconds=_bounded(wall_seconds, MAX_WALL_SECONDS) or 0.0,
        cpu_seconds=_bounded(cpu_seconds, MAX_CPU_SECONDS),
        peak_memory_bytes=_whole(_bounded(peak_memory_bytes, MAX_MEMORY_BYTES)),
        bytes_written=_whole(_bounded(bytes_written, MAX_BYTES_WRITTEN)),
    )


def _bounded(value: float | int | None, most: float) -> float | int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        if not math.isfinite(value) or not 0 <= value <= most:
            return None
    except TypeError:
        return None
    return value


def _whole(value: float | int | None) -> int | None:
    return None if value is None else int(value)


def with_written(usage: JobUsage, written: int | None) -> JobUsage:
    """The engine's usage with the bytes the runner counted."""
    return job_usage(usage.wall_seconds, usage.cpu_seconds, usage.peak_memory_bytes, written)


def shareable(usage: JobUsage, sends_job_text: bool) -> JobUsage:
    """What may leave the site: all of it, or, where no job-chosen text may, the wall time."""
    return usage if sends_job_text else JobUsage(wall_seconds=usage.wall_seconds)


def bytes_written(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> int:
    """Bytes of the files made or changed since `before` (`job_spec.files_of`'s signatures)."""
    return sum(size for path, (size, mtime) in after.items() if before.get(path) != (size, mtime))


def read_measured(path: Path) -> dict[str, float]:
    """What `measured_main.py` wrote of a job ({} if it could not: the job was killed)."""
    with contextlib.suppress(OSError, ValueError):
        figures = json.loads(path.read_text())
        if isinstance(figures, dict):
            return {k: v for k, v in figures.items() if isinstance(v, int | float)}
    return {}


class DockerSamples:
    """A container's stats as they come (`docker stats`, one sample at a time): the last
    CPU figure and the peak of memory, for a container whose stats vanish as it ends."""

    def __init__(self) -> None:
        self.cpu_ns: int | None = None
        self.peak: int | None = None

    def add(self, stats: dict) -> None:
        cpu = (stats.get("cpu_stats") or {}).get("cpu_usage") or {}
        total = cpu.get("total_usage")
        if isinstance(total, int) and total > 0:  # an ended container's stats are zero
            self.cpu_ns = max(total, self.cpu_ns or 0)
        memory = stats.get("memory_stats") or {}
        for key in ("max_usage", "usage"):  # cgroup v1 keeps the peak; v2 only the present
            value = memory.get(key)
            if isinstance(value, int) and value > 0:
                self.peak = max(value, self.peak or 0)

    def usage(self, wall_seconds: float) -> JobUsage:
        cpu = self.cpu_ns / 1e9 if self.cpu_ns is not None else None
        return job_usage(wall_seconds, cpu, self.peak)
