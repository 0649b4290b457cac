"""Getting outputs out: release requests, their files, the checkers' votes and comments."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import User
from .base import Base, UTCDateTime, created, new_ulid
from .work import Backend, Job, Workspace


class Release(Base):
    """A request to release moderately sensitive outputs of one workspace on one backend."""

    __tablename__ = "releases"
    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    backend_id: Mapped[int] = mapped_column(ForeignKey("backends.id"))
    state: Mapped[str] = mapped_column(String(16), default="requested")
    groups: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # context, disclosure
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = created()
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    workspace: Mapped[Workspace] = relationship(lazy="joined")
    backend: Mapped[Backend] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id], lazy="joined")
    files: Mapped[list[ReleaseFile]] = relationship(
        back_populates="release", order_by="ReleaseFile.id", lazy="selectin"
    )


class ReleaseFile(Base):
    """One file, frozen at the sha256 its job recorded; its bytes arrive for the checkers while
    it is under review (kept apart), and as a released file only once published."""

    __tablename__ = "release_files"
    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    release_id: Mapped[str] = mapped_column(ForeignKey("releases.id"), index=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id"))
    group: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(1000))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(24), default="requested")
    version: Mapped[int] = mapped_column(Integer, default=1)
    replaces_id: Mapped[str | None] = mapped_column(String(26), default=None)
    check: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # FileCheck
    upload_refused: Mapped[str | None] = mapped_column(Text, default=None)  # the site's reason
    uploaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    # its bytes sent for the checkers while under review, kept apart from released ones
    review_uploaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    review_refused: Mapped[str | None] = mapped_column(Text, default=None)  # the site's reason
    # the released tables its review copy overlaps and the differencing findings, never a value
    differencing: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    deleted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    release: Mapped[Release] = relationship(back_populates="files", lazy="joined")
    job: Mapped[Job] = relationship(lazy="joined")
    deleted_by: Mapped[User | None] = relationship(foreign_keys=[deleted_by_id])
    reviews: Mapped[list[Review]] = relationship(order_by="Review.id", lazy="selectin")
    comments: Mapped[list[ReleaseComment]] = relationship(
        order_by="ReleaseComment.id", lazy="selectin"
    )


class Review(Base):
    """One output checker's vote on one file; a file takes one vote per checker."""

    __tablename__ = "reviews"
    id: Mapped[int] = mapped_column(primary_key=True)
    release_file_id: Mapped[str] = mapped_column(ForeignKey("release_files.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(24))
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = created()
    updated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)  # re-vote
    reviewer: Mapped[User] = relationship(lazy="joined")
    __table_args__ = (UniqueConstraint("release_file_id", "reviewer_id"),)


class ReleaseComment(Base):
    """The author's answer to the checkers, or a checker's note, on one file."""

    __tablename__ = "release_comments"
    id: Mapped[int] = mapped_column(primary_key=True)
    release_file_id: Mapped[str] = mapped_column(ForeignKey("release_files.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created()
    author: Mapped[User] = relationship(lazy="joined")


class UploadLease(Base):
    """An upload of a released file under way: one PUT, of any job server process, holds it.

    Another PUT of the same file is refused while it is held. The holder renews it while it
    reads; one whose process died stops holding it when `expires_at` passes."""

    __tablename__ = "upload_leases"
    file_id: Mapped[str] = mapped_column(ForeignKey("release_files.id"), primary_key=True)
    holder: Mapped[str] = mapped_column(String(32))  # a random name of the PUT holding it
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
