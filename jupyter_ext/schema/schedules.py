"""Schedules: a workspace's actions submitted by the job server itself, on a cron expression.

Each firing is an ordinary submission at the branch head (a job request at one backend, a
study run at several), made as the schedule's owner and marked with the schedule.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from .common import Model, Slug, Timestamp
from .jobs import MAX_SITES, ActionName, Parameters
from .states import ScheduleState

CatchUp = Literal["once", "skip"]
Cron = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
TimeZone = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class FiringOutcome(StrEnum):
    FIRED = "fired"  # a job request (or study run) was made
    SKIPPED = "skipped"  # missed while the job server was down, and the schedule skips those
    NOTHING_TO_DO = "nothing_to_do"  # everything asked was already pending or running
    FAILED = "failed"  # the submission was refused: `message` says why


class ScheduleCreate(Model):
    workspace: Slug
    title: str | None = Field(None, max_length=200, description="A name people know it by.")
    description: str | None = Field(None, max_length=2000)
    actions: list[ActionName] = Field(
        min_length=1, max_length=1000, description="Action names, or run_all."
    )
    backends: list[Slug] = Field(
        min_length=1,
        max_length=MAX_SITES,
        description="One backend: each firing is a job request; several: a study run.",
    )
    force_run_dependencies: bool = False
    notify: bool = True
    parameters: dict[ActionName, Parameters] = Field(
        default_factory=dict,
        max_length=1000,
        description="Per notebook action, values overriding its `config` at every firing.",
    )
    cron: Cron = Field(
        description="Five fields (minute hour day-of-month month day-of-week), e.g. "
        "'0 6 * * 1' for Mondays at 06:00, or an alias such as @weekly."
    )
    timezone: TimeZone = Field("UTC", description="An IANA time zone, e.g. Europe/London.")
    catch_up: CatchUp = Field(
        "once",
        description="After the job server was down: run the latest missed firing once, or skip.",
    )


class Schedule(Model):
    id: str
    workspace: str
    project: str
    title: str | None = None
    description: str | None = None
    actions: list[str]
    backends: list[str]
    force_run_dependencies: bool
    notify: bool
    parameters: dict[str, Parameters] = Field(default_factory=dict)
    cron: str
    timezone: str
    when: str = Field(description="The cron expression in words, where it is simple.")
    catch_up: CatchUp
    state: ScheduleState
    next_firings: list[Timestamp] = Field(
        default_factory=list, description="The next three (UTC), while it is active."
    )
    next_said: str | None = Field(
        None, description='The next firing in its time zone: "Mon 07 Dec 06:00 Europe/London".'
    )
    last_fired_at: Timestamp | None = None
    created_by: str
    created_at: Timestamp
    updated_at: Timestamp


class ScheduleFiring(Model):
    """One moment a schedule was due (or run now by hand) and what came of it."""

    id: int
    schedule: str
    trigger: Literal["schedule", "run_now"]
    outcome: FiringOutcome
    due_at: Timestamp | None = Field(None, description="The firing it was for (UTC).")
    fired_at: Timestamp
    missed: int = Field(0, description="Firings missed while the job server was down.")
    job_request: str | None = None
    run: str | None = Field(None, description="The study run, when it names several backends.")
    message: str = Field("", description="What came of it, in a sentence.")
    actor: str = Field(description="scheduler, or who ran it now.")
