"""Data held at backends: datasets, their versions' manifests, and projects' access to them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import Org, User
from .base import Base, UTCDateTime, created, new_ulid
from .work import Backend, Project


class Dataset(Base):
    """Data held at a backend, described by its site: only its manifest ever left it."""

    __tablename__ = "datasets"
    id: Mapped[int] = mapped_column(primary_key=True)
    backend_id: Mapped[int] = mapped_column(ForeignKey("backends.id"))
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    owner_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[dt.datetime] = created()
    backend: Mapped[Backend] = relationship(lazy="joined")
    owner: Mapped[Org] = relationship(lazy="joined")
    versions: Mapped[list[DatasetVersion]] = relationship(
        order_by="DatasetVersion.version.desc()", lazy="selectin"
    )
    __table_args__ = (UniqueConstraint("backend_id", "name"),)


class DatasetVersion(Base):
    """One version's manifest (and its dummy data's), kept when a newer one comes."""

    __tablename__ = "dataset_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    manifest: Mapped[dict[str, Any]] = mapped_column(JSON)
    dummy: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[dt.datetime] = created()
    __table_args__ = (UniqueConstraint("dataset_id", "version"),)


class DatasetAccess(Base):
    """A project's request to use a dataset, and the Governance Reviewer's decision."""

    __tablename__ = "dataset_access"
    __audit_name__ = "dataset_access"
    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    purpose: Mapped[str] = mapped_column(Text)
    versions: Mapped[list[Any] | None] = mapped_column(JSON, default=None)  # None: all
    state: Mapped[str] = mapped_column(String(16), default="requested")
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[dt.datetime] = created()
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    until: Mapped[dt.date | None] = mapped_column(Date, default=None)
    project: Mapped[Project] = relationship(lazy="joined")
    dataset: Mapped[Dataset] = relationship(lazy="joined")
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id], lazy="joined")
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id], lazy="joined")
