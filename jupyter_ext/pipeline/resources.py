"""What each action asks to run with: `resources.yaml`, beside project.yaml.

As `datasets.yaml`, a file of its own, so the official parser still reads project.yaml::

    version: 1
    actions:
      fit_model:
        cpus: 4            # a number of CPUs, 0.5 and up
        memory: 16G        # with a unit: M, G or T (powers of 1024, as Docker and Slurm count)
        time_limit: 2h     # d, h, m and s, e.g. 90m or 1h30m

Each key may be left out: the action then gets the backend's default. What an action asks for
must be within the backend's maximums; the job server checks that when the request is made, and
the runner again when the job is leased. A repository without the file asks for nothing.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .action_files import Report, read_action_file

RESOURCES_FILE = "resources.yaml"
MAX_CPUS = 1024.0
MAX_MEMORY_MB = 64 * 1024 * 1024  # 64 TiB
MAX_TIME_LIMIT = 90 * 24 * 3600.0  # ninety days, in seconds
KEYS = ("cpus", "memory", "time_limit")
MEMORY = re.compile(r"^(?P<amount>\d+(?:\.\d+)?)\s*(?P<unit>[MGT])(?:i?B)?$", re.IGNORECASE)
MEMORY_UNITS_MB = {"m": 1, "g": 1024, "t": 1024 * 1024}
DURATION = re.compile(r"^(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$")
SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


@dataclass(frozen=True, slots=True)
class AskedResources:
    """What one action asks for; None: the backend's default."""

    cpus: float | None = None
    memory_mb: int | None = None
    time_limit: float | None = None  # seconds


def load_resources(
    text: str, actions: Iterable[str], filename: str = RESOURCES_FILE
) -> dict[str, AskedResources]:
    """What each listed action asks for; raise `ProjectValidationError` listing every problem."""
    return read_action_file(text, actions, filename, "what each asks for", _read_asked)


def _read_asked(entry: Any, path: tuple[Any, ...], report: Report) -> AskedResources | None:
    if not isinstance(entry, dict):
        report("not-a-mapping", "give the action's `cpus`, `memory` or `time_limit`", path)
        return None
    asked: dict[str, Any] = {}
    for key, value in entry.items():
        where = (*path, key)
        if key not in KEYS:
            close = difflib.get_close_matches(str(key), KEYS, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"write {', '.join(KEYS)}"
            report("unknown-key", f"unknown key {key!r}: {hint}", where, key=True)
        elif key == "cpus":
            asked["cpus"] = _cpus(value, where, report)
        elif key == "memory":
            asked["memory_mb"] = _memory_mb(value, where, report)
        else:
            asked["time_limit"] = _seconds(value, where, report)
    return AskedResources(**asked)


def _cpus(value: Any, where: tuple[Any, ...], report: Report) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= MAX_CPUS:
        report("cpus", f"`cpus` is a number of CPUs from 0.5 to {MAX_CPUS:g}, e.g. `2`", where)
        return None
    if value < 0.5:
        report("cpus", "`cpus` is at least 0.5", where)
        return None
    return float(value)


def _memory_mb(value: Any, where: tuple[Any, ...], report: Report) -> int | None:
    match = MEMORY.match(value.strip()) if isinstance(value, str) else None
    if match is None:
        report("memory", f"{value!r} is not an amount of memory: write e.g. `512M` or `16G`", where)
        return None
    mb = int(float(match["amount"]) * MEMORY_UNITS_MB[match["unit"].lower()])
    if not 16 <= mb <= MAX_MEMORY_MB:
        report("memory", f"`memory` is from 16M to {MAX_MEMORY_MB // 1024 // 1024}T", where)
        return None
    return mb


def _seconds(value: Any, where: tuple[Any, ...], report: Report) -> float | None:
    match = DURATION.match(value.strip().replace(" ", "")) if isinstance(value, str) else None
    if match is None or not any(match.groupdict().values()):
        report("time-limit", f"{value!r} is not a duration: write e.g. `90m` or `1h30m`", where)
        return None
    seconds = sum(int(n) * SECONDS[unit] for unit, n in match.groupdict().items() if n)
    if not 0 < seconds <= MAX_TIME_LIMIT:
        report("time-limit", f"`time_limit` is from 1s to {MAX_TIME_LIMIT // 86400:g}d", where)
        return None
    return float(seconds)
