"""Schedules and their history: what the job server submits by itself, and when it did."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import User
from .base import Base, UTCDateTime, created, new_ulid
from .work import Workspace


class Schedule(Base):
    """A submission made again at each firing of `cron` in `timezone`, as its owner
    (`created_by`). Only an active one fires; `next_due_at` is claimed by one conditional
    UPDATE per firing, so several job server processes never fire it twice."""

    __tablename__ = "schedules"
    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(200), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    actions: Mapped[list[Any]] = mapped_column(JSON)
    backends: Mapped[list[Any]] = mapped_column(JSON)  # one: a job request; several: a run
    force_run_dependencies: Mapped[bool] = mapped_column(Boolean, default=False)
    notify: Mapped[bool] = mapped_column(Boolean, default=True)
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # action -> values
    cron: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    catch_up: Mapped[str] = mapped_column(String(8), default="once")  # once | skip
    state: Mapped[str] = mapped_column(String(16), default="active")
    next_due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_fired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    created_at: Mapped[dt.datetime] = created()
    updated_at: Mapped[dt.datetime] = created()
    workspace: Mapped[Workspace] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship(lazy="joined")
    __table_args__ = (Index("ix_schedules_state_next_due_at", "state", "next_due_at"),)


class ScheduleFiring(Base):
    """What came of one firing: a job request or run made, skipped, or refused and why."""

    __tablename__ = "schedule_firings"
    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[str] = mapped_column(ForeignKey("schedules.id"))
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")  # or run_now
    outcome: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    fired_at: Mapped[dt.datetime] = created()
    missed: Mapped[int] = mapped_column(Integer, default=0)
    job_request_id: Mapped[str | None] = mapped_column(ForeignKey("job_requests.id"), default=None)
    study_run_id: Mapped[str | None] = mapped_column(ForeignKey("study_runs.id"), default=None)
    message: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200))
    __table_args__ = (Index("ix_schedule_firings_schedule_id_id", "schedule_id", "id"),)
