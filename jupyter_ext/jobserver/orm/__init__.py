"""The job server's database tables (SQLAlchemy 2). Migrations live in `migrations/`.

Times are timezone-aware UTC. Secrets are never stored in clear: API and runner
tokens as SHA-256 hashes with a short prefix to recognise them, GitHub tokens
encrypted (Fernet). IDs created over the API are ULIDs.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from ulid import ULID


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_ulid() -> str:
    return str(ULID())


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: use timezone-aware UTC")
        return (
            value.astimezone(dt.UTC)
            if dialect.name != "sqlite"
            else value.astimezone(dt.UTC).replace(tzinfo=None)
        )

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


def created() -> Mapped[dt.datetime]:
    return mapped_column(UTCDateTime, default=utcnow, nullable=False)


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    fullname: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    roles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    github_token: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # Fernet
    created_at: Mapped[dt.datetime] = created()


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(8), default="write")  # read: safe methods only
    created_at: Mapped[dt.datetime] = created()
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    user: Mapped[User] = relationship(lazy="joined")


class SignInSession(Base):
    """A browser's sign-in to the pages: its cookie holds a random key (only its hash is kept
    here) beside the hub's token. Signing out ends it, so a copied cookie stops working; the
    pages' CSRF token is made from its key, so each sign-in has its own."""

    __tablename__ = "sign_in_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = created()
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    user: Mapped[User] = relationship(lazy="joined")


class Org(Base):
    __tablename__ = "orgs"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = created()
    backends: Mapped[list[Backend]] = relationship(
        secondary="org_backends", order_by="Backend.slug"
    )


class OrgMember(Base):
    __tablename__ = "org_members"
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[dt.datetime] = created()
    user: Mapped[User] = relationship(lazy="joined")


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
    created_at: Mapped[dt.datetime] = created()


class OrgBackend(Base):
    __tablename__ = "org_backends"
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True)
    backend_id: Mapped[int] = mapped_column(
        ForeignKey("backends.id", ondelete="CASCADE"), primary_key=True
    )


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
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[dt.datetime] = created()
    workspace: Mapped[Workspace] = relationship(lazy="joined")
    backend: Mapped[Backend] = relationship(lazy="joined")
    created_by: Mapped[User] = relationship(lazy="joined")
    jobs: Mapped[list[Job]] = relationship(
        back_populates="job_request", order_by="Job.id", lazy="selectin"
    )
    __table_args__ = (UniqueConstraint("created_by_id", "idempotency_key"),)


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
    runner: Mapped[str | None] = mapped_column(String(200), default=None)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    log_seq: Mapped[int] = mapped_column(Integer, default=0)  # next expected log line
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[dt.datetime] = created()
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    job_request: Mapped[JobRequest] = relationship(back_populates="jobs", lazy="joined")
    cancelled_by: Mapped[User | None] = relationship(foreign_keys=[cancelled_by_id])
    __table_args__ = (
        Index("ix_jobs_workspace_action", "workspace_id", "backend_id", "action", "id"),
        Index("ix_jobs_workspace_id_id", "workspace_id", "id"),
        Index("ix_jobs_backend_id_id", "backend_id", "id"),
        Index("ix_jobs_backend_state", "backend_id", "state", "id"),
        Index("ix_jobs_state_id", "state", "id"),
        Index("ix_jobs_created_by_id", "created_by_id", "id"),
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


class UploadLease(Base):
    """An upload of a released file under way: one PUT, of any job server process, holds it.

    Another PUT of the same file is refused while it is held. The holder renews it while it
    reads; one whose process died stops holding it when `expires_at` passes."""

    __tablename__ = "upload_leases"
    file_id: Mapped[str] = mapped_column(ForeignKey("release_files.id"), primary_key=True)
    holder: Mapped[str] = mapped_column(String(32))  # a random name of the PUT holding it
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
