"""Where and what runs: backends, applications, projects, workspaces, job requests and jobs."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .accounts import Org, User
from .base import Base, UTCDateTime, created, new_ulid


class Backend(Base):
    __tablename__ = "backends"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    log_policy: Mapped[str] = mapped_column(String(16), default="full")
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    runner_version: Mapped[str | None] = mapped_column(String(64), default=None)
    executor: Mapped[str | None] = mapped_column(String(64), default=None)
    capacity: Mapped[int | None] = mapped_column(Integer, default=None)
    release_rules: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # reported
    # reported: the defaults a job gets and the most an action may ask for (ResourceLimits)
    resource_limits: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[dt.datetime] = created()


class OrgBackend(Base):
    __tablename__ = "org_backends"
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True)
    backend_id: Mapped[int] = mapped_column(
        ForeignKey("backends.id", ondelete="CASCADE"), primary_key=True
    )


class BackendMember(Base):
    """Someone the site names to check (or publish) what leaves it: their roles count only for
    releases of this backend, beside the global roles that count everywhere."""

    __tablename__ = "backend_members"
    backend_id: Mapped[int] = mapped_column(
        ForeignKey("backends.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    roles: Mapped[list[Any]] = mapped_column(JSON, default=list)  # SITE_ROLES only
    created_at: Mapped[dt.datetime] = created()
    backend: Mapped[Backend] = relationship(lazy="joined")
    user: Mapped[User] = relationship(lazy="joined")


class RunnerToken(Base):
    __tablename__ = "runner_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    backend_id: Mapped[int] = mapped_column(ForeignKey("backends.id", ondelete="CASCADE"))
    prefix: Mapped[str] = mapped_column(String(16))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = created()
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    backend: Mapped[Backend] = relationship(lazy="joined")


class Application(Base):
    __tablename__ = "applications"
    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    study_name: Mapped[str] = mapped_column(String(200))
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"))
    purpose: Mapped[str] = mapped_column(Text)
    data: Mapped[str] = mapped_column(Text)
    backends: Mapped[list[Any]] = mapped_column(JSON, default=list)
    people: Mapped[list[Any]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default="submitted")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = created()
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id"), default=None)
    org: Mapped[Org] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship(foreign_keys=[created_by_id], lazy="joined")
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id], lazy="joined")
    project: Mapped[Project | None] = relationship(lazy="joined")


class Project(Base):
    __tablename__ = "projects"
    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    number: Mapped[int] = mapped_column(Integer, unique=True)
    status: Mapped[str] = mapped_column(String(16), default="ongoing")
    created_at: Mapped[dt.datetime] = created()
    org: Mapped[Org] = relationship(lazy="joined")


class ProjectMember(Base):
    __tablename__ = "project_members"
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    roles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[dt.datetime] = created()
    user: Mapped[User] = relationship(lazy="joined")


class Workspace(Base):
    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    repo: Mapped[str] = mapped_column(String(500))
    branch: Mapped[str] = mapped_column(String(255))
    notifications: Mapped[bool] = mapped_column(Boolean, default=True)
    archived: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = created()
    project: Mapped[Project] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship(lazy="joined")


class StudyRun(Base):
    """One submission at several sites: a job request per backend, all at one commit. Its
    state is its requests' side by side (`views.study_run`); nothing stores it."""

    __tablename__ = "study_runs"
    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    sha: Mapped[str] = mapped_column(String(40))
    actions: Mapped[list[Any]] = mapped_column(JSON)
    force_run_dependencies: Mapped[bool] = mapped_column(Boolean, default=False)
    notify: Mapped[bool] = mapped_column(Boolean, default=True)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = created()
    workspace: Mapped[Workspace] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship(lazy="joined")
    job_requests: Mapped[list[JobRequest]] = relationship(
        back_populates="study_run", order_by="JobRequest.id", lazy="selectin"
    )
    __table_args__ = (UniqueConstraint("created_by_id", "idempotency_key"),)


class JobRequest(Base):
    __tablename__ = "job_requests"
    id: Mapped[str] = mapped_column(String(26), primary_key=True, default=new_ulid)
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"), index=True)
    backend_id: Mapped[int] = mapped_column(ForeignKey("backends.id"), index=True)
    sha: Mapped[str] = mapped_column(String(40))
    actions: Mapped[list[Any]] = mapped_column(JSON)
    force_run_dependencies: Mapped[bool] = mapped_column(Boolean, default=False)
    notify: Mapped[bool] = mapped_column(Boolean, default=True)
    project_yaml: Mapped[str] = mapped_column(Text)
    github_token: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # Fernet
    idempotency_key: Mapped[str | None] = mapped_column(String(200), default=None)
    study_run_id: Mapped[str | None] = mapped_column(
        ForeignKey("study_runs.id"), index=True, default=None
    )
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # action -> overrides
    schedule_id: Mapped[str | None] = mapped_column(  # made by a firing of this schedule
        ForeignKey("schedules.id"), index=True, default=None
    )
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = created()
    workspace: Mapped[Workspace] = relationship(lazy="joined")
    backend: Mapped[Backend] = relationship(lazy="joined")
    study_run: Mapped[StudyRun | None] = relationship(back_populates="job_requests")
    created_by: Mapped[User] = relationship(lazy="joined")
    jobs: Mapped[list[Job]] = relationship(
        back_populates="job_request", order_by="Job.id", lazy="selectin"
    )
    __table_args__ = (UniqueConstraint("created_by_id", "idempotency_key"),)
    warnings = ()  # not stored: said once, in the reply that makes it (parameters not declared)


class Job(Base):
    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(16), unique=True)
    job_request_id: Mapped[str] = mapped_column(ForeignKey("job_requests.id"), index=True)
    # copied from the request so the event log filters without joins
    workspace_id: Mapped[int] = mapped_column(ForeignKey("workspaces.id"))
    backend_id: Mapped[int] = mapped_column(ForeignKey("backends.id"))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    status_message: Mapped[str] = mapped_column(Text, default="")
    exit_code: Mapped[int | None] = mapped_column(Integer, default=None)
    run: Mapped[str] = mapped_column(Text)
    needs: Mapped[list[Any]] = mapped_column(JSON, default=list)
    wait_for: Mapped[list[Any]] = mapped_column(JSON, default=list)  # job identifiers
    outputs_spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    requires_db: Mapped[bool] = mapped_column(Boolean, default=False)
    datasets: Mapped[list[Any]] = mapped_column(JSON, default=list)  # "name" or "name@2"
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # a notebook's values
    # what the action asked for in resources.yaml (JobResources); None: the backend's defaults
    resources: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    runner: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    log_seq: Mapped[int] = mapped_column(Integer, default=0)  # next expected log line
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[dt.datetime] = created()
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    # what it used, as its runner measured it (schema.JobUsage): columns, so sums are SQL
    cpu_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    wall_seconds: Mapped[float | None] = mapped_column(Float, default=None)
    peak_memory_bytes: Mapped[int | None] = mapped_column(BigInteger, default=None)
    bytes_written: Mapped[int | None] = mapped_column(BigInteger, default=None)
    job_request: Mapped[JobRequest] = relationship(back_populates="jobs", lazy="joined")
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
    __table_args__ = (
        Index("ix_jobs_workspace_action", "workspace_id", "backend_id", "action", "id"),
        Index("ix_jobs_workspace_id_id", "workspace_id", "id"),
        Index("ix_jobs_backend_id_id", "backend_id", "id"),
        Index("ix_jobs_backend_state", "backend_id", "state", "id"),
        Index("ix_jobs_state_id", "state", "id"),
        Index("ix_jobs_created_by_id", "created_by_id", "id"),
        Index("ix_jobs_completed_at", "completed_at"),  # the usage report's range
    )


class LogLine(Base):
    __tablename__ = "log_lines"
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = created()


class JobOutput(Base):
    __tablename__ = "job_outputs"
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    path: Mapped[str] = mapped_column(String(1000), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    privacy_level: Mapped[str] = mapped_column(String(32))
    check: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # FileCheck
