"""A project's share of a backend: its concurrency cap and its jobs-per-day quota."""

from __future__ import annotations

from pydantic import Field

from .common import Model, Timestamp


class ProjectLimitSet(Model):
    """What an administrator sets; None lifts that limit (both None: no limits there)."""

    max_running: int | None = Field(
        None, ge=0, le=100_000, description="At most this many of its jobs running at once."
    )
    jobs_per_day: int | None = Field(
        None,
        ge=0,
        le=10_000_000,
        description="At most this many jobs asked for in any 24 hours; a request over it is "
        "refused.",
    )


class ProjectLimit(Model):
    project: str
    backend: str
    max_running: int | None = None
    jobs_per_day: int | None = None
    running: int = Field(description="Its jobs running there now.")
    jobs_last_day: int = Field(description="Jobs asked for there in the last 24 hours.")
    updated_at: Timestamp | None = None
