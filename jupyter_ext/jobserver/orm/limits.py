"""What a project may use of a backend: set by an administrator, read by the lease and the
job request (`services.limits`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, created


class ProjectBackendLimit(Base):
    """A project's share of one backend: at most `max_running` of its jobs running there at
    once (the lease holds the rest back), and at most `jobs_per_day` jobs asked for there in
    any 24 hours (a job request over it is refused). None: no limit. No row: no limits."""

    __tablename__ = "project_backend_limits"
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    backend_id: Mapped[int] = mapped_column(
        ForeignKey("backends.id", ondelete="CASCADE"), primary_key=True
    )
    max_running: Mapped[int | None] = mapped_column(Integer, default=None)
    jobs_per_day: Mapped[int | None] = mapped_column(Integer, default=None)
    updated_at: Mapped[dt.datetime] = created()
