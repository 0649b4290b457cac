"""What an action asks to run with (CPUs, memory, a time limit) and what a backend allows.

An action asks in `resources.yaml`, beside project.yaml (see `pipeline/resources.py`); what it
does not ask for it gets the backend's default. A runner reports its backend's defaults and
maximums (`ResourceLimits`) with its heartbeat; the job server refuses, before anything runs,
a request whose action asks for more than the maximum, and the runner refuses it again when it
is leased (a lease is hostile until checked), before the job starts.
"""

from __future__ import annotations

from pydantic import Field

from .common import Model

# The most a lease may carry (a hostility guard; resources.yaml has the same bounds, in pipeline)
MAX_CPUS = 1024.0
MAX_MEMORY_MB = 64 * 1024 * 1024  # 64 TiB
MAX_TIME_LIMIT = 90 * 24 * 3600.0  # ninety days, in seconds


class JobResources(Model):
    """What one job asks for; None: the backend's default."""

    cpus: float | None = Field(None, gt=0, le=MAX_CPUS, allow_inf_nan=False)
    memory_mb: int | None = Field(None, ge=16, le=MAX_MEMORY_MB)
    time_limit: float | None = Field(
        None, gt=0, le=MAX_TIME_LIMIT, allow_inf_nan=False, description="Seconds."
    )

    def asked(self) -> bool:
        return any(v is not None for v in (self.cpus, self.memory_mb, self.time_limit))

    def words(self) -> str:
        """`2 CPUs, 8 GB, 2 h`: what it asks for, as a person reads it."""
        said = []
        if self.cpus is not None:
            said.append(f"{self.cpus:g} CPU{'' if self.cpus == 1 else 's'}")
        if self.memory_mb is not None:
            said.append(memory_words(self.memory_mb))
        if self.time_limit is not None:
            said.append(duration_words(self.time_limit))
        return ", ".join(said)


class ResourceLimits(Model):
    """A backend's defaults (what a job gets unasked) and maximums (the most it may ask)."""

    default: JobResources
    maximum: JobResources

    def over(self, asked: JobResources) -> list[str]:
        """Each figure of `asked` above the maximum, as a phrase (empty: it is within)."""
        phrases = []
        for name, label, words in (
            ("cpus", "CPUs", lambda v: f"{v:g}"),
            ("memory_mb", "memory", memory_words),
            ("time_limit", "time limit", duration_words),
        ):
            wanted, most = getattr(asked, name), getattr(self.maximum, name)
            if wanted is not None and most is not None and wanted > most:
                phrases.append(f"{label} {words(wanted)} (at most {words(most)})")
        return phrases

    def applied(self, asked: JobResources | None) -> JobResources:
        """What a job runs with: what it asked for, else the default."""
        asked = asked or JobResources()
        return JobResources(
            cpus=asked.cpus if asked.cpus is not None else self.default.cpus,
            memory_mb=asked.memory_mb if asked.memory_mb is not None else self.default.memory_mb,
            time_limit=(
                asked.time_limit if asked.time_limit is not None else self.default.time_limit
            ),
        )


def memory_words(mb: int) -> str:
    if mb >= 1024 and mb % 1024 == 0:
        return f"{mb // 1024} GB"
    return f"{mb} MB"


def duration_words(seconds: float) -> str:
    seconds = round(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else ""]
    parts.append(f"{secs} s" if secs or not (hours or minutes) else "")
    return " ".join(p for p in parts if p)
