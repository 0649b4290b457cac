"""What the server tells others: the live stream's events, the audit trail, the outbox."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, UTCDateTime, created


class Event(Base):
    """Everything the live stream sends, kept so a client can resume with Last-Event-ID."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    project_id: Mapped[int | None] = mapped_column(Integer, default=None)
    workspace_id: Mapped[int | None] = mapped_column(Integer, default=None)
    backend_id: Mapped[int | None] = mapped_column(Integer, default=None)
    job_request_id: Mapped[str | None] = mapped_column(String(26), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = created()


class AuditEvent(Base):
    """Who changed what, when, from what to what."""

    __tablename__ = "audit_events"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    actor: Mapped[str] = mapped_column(String(100))  # username, "runner:<backend>" or "system"
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[dt.datetime] = created()
    __table_args__ = (Index("ix_audit_events_target", "target_type", "target_id"),)


class Notification(Base):
    """The outbox: a mail or webhook call, written with the change that caused it.

    The job server's sender delivers due rows, marks them sent, and tries again later
    (with backoff) while a mail server or webhook is down.
    """

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event: Mapped[str] = mapped_column(String(40))  # e.g. job_request.finished
    subject_id: Mapped[str] = mapped_column(String(26))  # the job request's or release's id
    channel: Mapped[str] = mapped_column(String(8))  # email | webhook
    recipient: Mapped[str] = mapped_column(String(320), default="")  # an address, for email
    subject: Mapped[str] = mapped_column(String(300), default="")
    body: Mapped[str] = mapped_column(Text)  # the mail's text, or the webhook's JSON
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = created()
    next_attempt_at: Mapped[dt.datetime] = created()
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    failed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)  # gave up
    __table_args__ = (
        Index("ix_notifications_due", "sent_at", "failed_at", "next_attempt_at"),
        Index("ix_notifications_event_subject", "event", "subject_id"),
    )
