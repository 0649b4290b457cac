"""The job server's database tables (SQLAlchemy 2). Migrations live in `migrations/`.

Times are timezone-aware UTC. Secrets are never stored in clear: API and runner
tokens as SHA-256 hashes with a short prefix to recognise them, GitHub tokens
encrypted (Fernet). IDs created over the API are ULIDs.

One module per family of tables, all on one `Base` (relationships name their targets,
which resolve through its registry): `base` (Base, UTCDateTime, utcnow, new_ulid,
created), `accounts`, `work`, `limits`, `releases`, `datasets`, `notices` and `schedules`.
Import the tables from here (`from . import orm; orm.Job`), not from those modules.
"""

from __future__ import annotations

from .accounts import ApiToken, Org, OrgMember, SignInSession, User
from .base import Base, UTCDateTime, created, new_ulid, utcnow
from .datasets import Dataset, DatasetAccess, DatasetVersion
from .limits import ProjectBackendLimit
from .notices import AuditEvent, Event, Notification
from .releases import Release, ReleaseComment, ReleaseFile, Review, UploadLease
from .schedules import Schedule, ScheduleFiring
from .work import (
    Application,
    Backend,
    BackendMember,
    Job,
    JobOutput,
    JobRequest,
    LogLine,
    OrgBackend,
    Project,
    ProjectMember,
    RunnerToken,
    StudyRun,
    Workspace,
)

__all__ = [
    "ApiToken",
    "Application",
    "AuditEvent",
    "Backend",
    "BackendMember",
    "Base",
    "Dataset",
    "DatasetAccess",
    "DatasetVersion",
    "Event",
    "Job",
    "JobOutput",
    "JobRequest",
    "LogLine",
    "Notification",
    "Org",
    "OrgBackend",
    "OrgMember",
    "Project",
    "ProjectBackendLimit",
    "ProjectMember",
    "Release",
    "ReleaseComment",
    "ReleaseFile",
    "Review",
    "RunnerToken",
    "Schedule",
    "ScheduleFiring",
    "SignInSession",
    "StudyRun",
    "UTCDateTime",
    "UploadLease",
    "User",
    "Workspace",
    "created",
    "new_ulid",
    "utcnow",
]
