"""Work waiting for output checkers and publishers, for the home page: one query each.

A checker sees the releases with files waiting for their vote (asked for, or in review
and not voted on by them), never their own; a publisher the releases with approved files
to publish, never their own. Each row links to its release page and says how long it
has waited. Those without the role get nothing, and no query is made.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from ...schema.states import FileState
from .. import orm
from ..callers import Caller
from ..permissions import Permission as P
from ..services.projects import visible_projects
from ..states import RELEASE_ACTS

SHOWN = 50  # rows of each list; the oldest first
TO_VOTE = (FileState.REQUESTED, FileState.IN_REVIEW)


@dataclass(frozen=True)
class Waiting:
    release: str
    org: str
    project: str
    workspace: str
    author: str
    asked_at: dt.datetime
    files: int

    @property
    def path(self) -> str:
        return f"{self.org}/{self.project}/{self.workspace}/releases/{self.release}"

    def age(self, now: dt.datetime | None = None) -> str:
        return age((now or orm.utcnow()) - self.asked_at)


def age(waited: dt.timedelta) -> str:
    """How long, in the unit that fits: 40 s, 12 min, 5 h, 3 days."""
    seconds = max(0, int(waited.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 2 * 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


def _waiting(session: Session, caller: Caller, *where) -> list[Waiting]:
    release_states = RELEASE_ACTS["vote"][0]
    query = (
        select(
            orm.Release.id,
            orm.Org.slug,
            orm.Project.slug,
            orm.Workspace.name,
            orm.User.username,
            orm.Release.created_at,
            func.count(orm.ReleaseFile.id),
        )
        .join(orm.Release, orm.Release.id == orm.ReleaseFile.release_id)
        .join(orm.Workspace, orm.Workspace.id == orm.Release.workspace_id)
        .join(orm.Project, orm.Project.id == orm.Workspace.project_id)
        .join(orm.Org, orm.Org.id == orm.Project.org_id)
        .join(orm.User, orm.User.id == orm.Release.created_by_id)
        .where(
            orm.Release.state.in_(release_states),
            orm.Release.created_by_id != caller.user.id,
            *where,
        )
        .group_by(
            orm.Release.id,
            orm.Org.slug,
            orm.Project.slug,
            orm.Workspace.name,
            orm.User.username,
            orm.Release.created_at,
        )
        .order_by(orm.Release.created_at, orm.Release.id)
        .limit(SHOWN)
    )
    return [Waiting(*row) for row in session.execute(query)]


def _reach(caller: Caller, permission: P):
    """Where the caller holds `permission` over releases: every visible project with a global
    role, else the sites that named them (None: nowhere)."""
    if caller.can(permission):
        projects = visible_projects(caller).with_only_columns(orm.Project.id)
        return orm.Workspace.project_id.in_(projects)
    if sites := caller.sites(permission):
        return orm.Release.backend_id.in_(sites)
    return None


def to_review(session: Session, caller: Caller) -> list[Waiting]:
    """Releases with files waiting for the caller's vote, oldest first."""
    if (reach := _reach(caller, P.RELEASE_REVIEW)) is None:
        return []
    voted = exists().where(
        orm.Review.release_file_id == orm.ReleaseFile.id, orm.Review.reviewer_id == caller.user.id
    )
    return _waiting(session, caller, reach, orm.ReleaseFile.state.in_(TO_VOTE), ~voted)


def to_publish(session: Session, caller: Caller) -> list[Waiting]:
    """Releases with approved files the caller may publish, oldest first."""
    if (reach := _reach(caller, P.RELEASE_PUBLISH)) is None:
        return []
    return _waiting(session, caller, reach, orm.ReleaseFile.state == FileState.APPROVED)
