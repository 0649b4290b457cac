"""The named states and roles every room speaks of (the transitions live in the job server)."""

from __future__ import annotations

from enum import StrEnum


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobRequestState(StrEnum):
    """Derived from its jobs: running while any runs, failed if any failed, and so on."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    NOTHING_TO_DO = "nothing_to_do"


class ScheduleState(StrEnum):
    """A schedule fires only while active; deleted is final (its history stays)."""

    ACTIVE = "active"
    PAUSED = "paused"
    DELETED = "deleted"


class ApplicationState(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    REJECTED = "rejected"


class ReleaseState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    RELEASED = "released"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class FileState(StrEnum):
    """A file of a release: each version of it has its own."""

    REQUESTED = "requested"  # no vote yet
    IN_REVIEW = "in_review"  # votes, but not enough, or a tie for a third checker to break
    APPROVED = "approved"
    CHANGES_REQUESTED = "changes_requested"
    REJECTED = "rejected"
    SUPERSEDED = "superseded"  # a newer version replaced it
    RELEASED = "released"
    WITHDRAWN = "withdrawn"


class LogPolicy(StrEnum):
    FULL = "full"  # every log line leaves the site
    REDACTED = "redacted"  # lines leave with numbers and identifiers masked
    STATUS = "status"  # only states and status messages leave


class PrivacyLevel(StrEnum):
    HIGHLY_SENSITIVE = "highly_sensitive"
    MODERATELY_SENSITIVE = "moderately_sensitive"
    MINIMALLY_SENSITIVE = "minimally_sensitive"


class Role(StrEnum):
    """The roles of the seed guide, and no others."""

    CORE_DEVELOPER = "core_developer"
    DATA_INVESTIGATOR = "data_investigator"
    GOVERNANCE_REVIEWER = "governance_reviewer"
    ONBOARDING_AGENT = "onboarding_agent"
    OUTPUT_CHECKER = "output_checker"
    OUTPUT_PUBLISHER = "output_publisher"
    TECHNICAL_REVIEWER = "technical_reviewer"
    PROJECT_COLLABORATOR = "project_collaborator"
    PROJECT_COORDINATOR = "project_coordinator"
    PROJECT_DEVELOPER = "project_developer"


class SiteRole(StrEnum):
    """The roles a site (backend) may name people to, for what leaves that site only."""

    OUTPUT_CHECKER = "output_checker"
    OUTPUT_PUBLISHER = "output_publisher"


PROJECT_ROLES = frozenset(
    {Role.PROJECT_COLLABORATOR, Role.PROJECT_COORDINATOR, Role.PROJECT_DEVELOPER}
)
