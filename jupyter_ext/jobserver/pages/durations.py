"""How long something took, for the pages: the panel's `formatDuration` (durations.ts) in Python.

Jobs of a small project take well under a second, so whole seconds said "0 s" for all of them;
a unit that fits the length is chosen instead, and a length is never negative (clocks of two
machines may disagree by a little).
"""

from __future__ import annotations

import datetime as dt
import math


def duration(seconds: float | None) -> str:
    """850 ms, 12.3 s, 4 min 05 s, 2 h 03 min; '' for no length, 0 ms for a negative one."""
    if seconds is None or not math.isfinite(seconds):
        return ""
    ms = max(0.0, seconds * 1000)
    if round(ms) < 1000:
        return f"{round(ms)} ms"
    if round(ms / 100) < 600:  # 59.96 s reads as 1 min 00 s, not 60.0 s
        return f"{ms / 1000:.1f} s"
    whole = round(ms / 1000)
    if whole < 3600:
        return f"{whole // 60} min {whole % 60:02d} s"
    minutes = whole // 60
    return f"{minutes // 60} h {minutes % 60:02d} min"


def took(start: dt.datetime | None, end: dt.datetime | None) -> str:
    """How long from `start` to `end` ('' if either is unknown)."""
    if start is None or end is None:
        return ""
    return duration((end - start).total_seconds())
