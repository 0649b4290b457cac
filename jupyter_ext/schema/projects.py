"""Applications, projects, their members, and workspaces."""

from __future__ import annotations

from pydantic import Field

from .common import Model, Name, Slug, Timestamp
from .states import ApplicationState, Role


class ApplicationCreate(Model):
    study_name: Name = Field(description="Becomes the project's name.")
    org: Slug
    purpose: str = Field(min_length=1, max_length=10_000)
    data: str = Field(min_length=1, max_length=10_000, description="The data it needs, and why.")
    backends: list[Slug] = Field(min_length=1)
    people: list[str] = Field(default_factory=list, description="GitHub logins to add.")


class Application(Model):
    id: str
    study_name: str
    org: str
    purpose: str
    data: str
    backends: list[str]
    people: list[str]
    state: ApplicationState
    created_by: str
    created_at: Timestamp
    reviewed_by: str | None = None
    reviewed_at: Timestamp | None = None
    reason: str | None = None
    project: str | None = Field(None, description="Slug of the project its approval created.")


class ApplicationReview(Model):
    reason: str = Field("", max_length=10_000)


class Project(Model):
    slug: Slug
    name: str
    number: int
    org: str
    status: str
    created_at: Timestamp


class ProjectCreate(Model):
    org: Slug
    name: Name
    slug: Slug | None = Field(None, description="Made from the name when absent.")


class ProjectUpdate(Model):
    name: Name | None = None
    status: str | None = Field(None, pattern="^(ongoing|completed|paused)$")


class Member(Model):
    username: str
    roles: list[Role]
    created_at: Timestamp


class MemberAdd(Model):
    username: str
    roles: list[Role] = Field(min_length=1)


class MemberUpdate(Model):
    roles: list[Role] = Field(min_length=1)


class Workspace(Model):
    name: Slug
    project: str
    repo: str
    branch: str
    notifications: bool
    archived: bool
    created_by: str
    created_at: Timestamp


class WorkspaceCreate(Model):
    name: Slug
    project: Slug
    repo: str = Field(min_length=1, max_length=500, description="https://github.com/org/repo")
    branch: str = Field("main", min_length=1, max_length=255, pattern=r"^[^\s~^:?*\[\\]+$")
    notifications: bool = True


class WorkspaceUpdate(Model):
    notifications: bool | None = None
    archived: bool | None = None
