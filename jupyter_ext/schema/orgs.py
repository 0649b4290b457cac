"""Organisations and the backends they may use."""

from __future__ import annotations

from pydantic import Field

from .common import Model, Name, Slug, Timestamp
from .release_rules import ReleaseRules
from .resources import ResourceLimits
from .states import LogPolicy, SiteRole


class Org(Model):
    slug: Slug
    name: str
    backends: list[str] = Field(default_factory=list, description="Slugs of usable backends.")
    created_at: Timestamp


class OrgCreate(Model):
    slug: Slug
    name: Name


class OrgUpdate(Model):
    name: Name | None = None


class OrgMember(Model):
    username: str
    created_at: Timestamp


class OrgMemberAdd(Model):
    username: str


class OrgBackendAdd(Model):
    backend: Slug


class Backend(Model):
    slug: Slug
    name: str
    log_policy: LogPolicy
    online: bool = Field(description="Its runner was seen within the heartbeat timeout.")
    last_seen_at: Timestamp | None = None
    runner_version: str | None = None
    executor: str | None = None
    capacity: int | None = Field(None, description="Jobs it can start now.")
    release_rules: ReleaseRules = Field(
        default_factory=ReleaseRules, description="As its runner reported them, else the defaults."
    )
    resource_limits: ResourceLimits | None = Field(
        None,
        description="What a job gets unasked and the most an action may ask for, as its runner "
        "reported them (None: not yet).",
    )
    created_at: Timestamp


class BackendCreate(Model):
    slug: Slug
    name: Name
    log_policy: LogPolicy = LogPolicy.FULL


class BackendUpdate(Model):
    name: Name | None = None
    log_policy: LogPolicy | None = None


class BackendMember(Model):
    """Someone a site names to check or publish what leaves it (their roles hold only there)."""

    backend: Slug
    username: str
    roles: list[SiteRole]
    created_at: Timestamp


class BackendMemberSet(Model):
    roles: list[SiteRole] = Field(min_length=1, max_length=2)


class RunnerTokenCreated(Model):
    backend: Slug
    token: str = Field(description="Shown once: give it to the backend's runner.")
