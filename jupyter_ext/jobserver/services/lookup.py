"""Finding rows by their public name (or a 404), and the names the pages keep for themselves:
shared by every noun of the domain layer and its faces."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import orm
from ..errors import ProblemError, not_found

T = TypeVar("T")


# Names the pages use at the start of an address (`/backends`, `/{org}/{project}/settings`):
# an organisation or workspace so named would be hidden behind them.
RESERVED_ORG_NAMES = frozenset(
    {
        "api",
        "static",
        "login",
        "oauth_callback",
        "applications",
        "backends",
        "orgs",
        "users",
        "settings",
        "event-log",
        "jobs",
        "job-requests",
        "runs",
        "dataset-access",
        "checking",
        "usage",
    }
)
RESERVED_WORKSPACE_NAMES = frozenset({"settings", "workspaces"})


def refuse_reserved(name: str, reserved: frozenset[str], what: str) -> None:
    if name in reserved:
        raise ProblemError(
            422, f"{name!r} is a name the job server's pages use: choose another {what} name"
        )


def one(session: Session, model: type[T], what: str, **where: Any) -> T:
    row = session.scalar(select(model).filter_by(**where))
    if row is None:
        raise not_found(what, next(iter(where.values())))
    return row


def user_named(session: Session, username: str) -> orm.User:
    return one(session, orm.User, "user", username=username)


def org_named(session: Session, slug: str) -> orm.Org:
    return one(session, orm.Org, "organisation", slug=slug)


def backend_named(session: Session, slug: str) -> orm.Backend:
    return one(session, orm.Backend, "backend", slug=slug)


def project_named(session: Session, slug: str) -> orm.Project:
    return one(session, orm.Project, "project", slug=slug)


def workspace_named(session: Session, name: str) -> orm.Workspace:
    return one(session, orm.Workspace, "workspace", name=name)


def snapshot(row: Any, *fields: str) -> dict[str, Any]:
    """Some fields of a row, for an audit event's before and after."""
    return {f: getattr(row, f) for f in fields}
