"""Projects and their members: who may see a project, its settings, and the roles in it.

Project roles change only with two people: no one changes or drops their own roles.
"""

from __future__ import annotations

import re

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from ... import schema
from ...schema.states import PROJECT_ROLES
from .. import orm
from ..audit import record
from ..callers import Caller
from ..errors import ProblemError
from ..permissions import Permission as P
from .lookup import org_named, project_named, snapshot, user_named


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-") or "project"


def visible_projects(caller: Caller) -> Select:
    """A query of the projects the caller may view."""
    query = select(orm.Project)
    if caller.can(P.PROJECT_VIEW):  # a global role or a global project role
        return query
    member_of = select(orm.ProjectMember.project_id).where(
        orm.ProjectMember.user_id == caller.user.id
    )
    return query.where(orm.Project.id.in_(member_of))


def viewable_project(
    session: Session, caller: Caller, org: str | None, project: str
) -> orm.Project:
    """The project named `project` if the caller may view it; with `org`, only if it is that
    organisation's (an address such as `/{org}/{project}` names both)."""
    row = project_named(session, project)
    caller.require(P.PROJECT_VIEW, row)
    if org is not None and row.org.slug != org:
        raise ProblemError(404, f"there is no project {org}/{project}")
    return row


def list_projects(
    session: Session,
    caller: Caller,
    org: str | None = None,
    after: int | None = None,
    limit: int = 100,
) -> list[orm.Project]:
    """Up to `limit` visible projects by number (of `org` only, if given), after `after`."""
    query = visible_projects(caller).order_by(orm.Project.number)
    if org:
        query = query.where(orm.Project.org_id == org_named(session, org).id)
    if after is not None:
        query = query.where(orm.Project.number > after)
    return list(session.scalars(query.limit(limit)))


def create_project(
    session: Session, actor: str, org: orm.Org, name: str, slug: str | None = None
) -> orm.Project:
    """A new project of `org`, numbered after the last; not committed (an approval makes one
    with its members in one transaction)."""
    slug = slug or slugify(name)
    if session.scalar(select(orm.Project).where(orm.Project.slug == slug)):
        raise ProblemError(409, f"a project {slug} exists already: choose another slug")
    number = (session.scalar(select(func.max(orm.Project.number))) or 0) + 1
    project = orm.Project(org_id=org.id, name=name, slug=slug, number=number)
    project.org = org
    session.add(project)
    record(session, actor, "project.create", project, after={"org": org.slug, "name": name})
    return project


def add_project(session: Session, caller: Caller, body: schema.ProjectCreate) -> orm.Project:
    caller.require(P.PROJECT_CREATE)
    project = create_project(
        session, caller.name, org_named(session, body.org), body.name, body.slug
    )
    session.commit()
    return project


def update_project(
    session: Session, caller: Caller, project: str, body: schema.ProjectUpdate
) -> orm.Project:
    row = project_named(session, project)
    caller.require(P.PROJECT_MANAGE, row)
    before = snapshot(row, "name", "status")
    for field, value in body.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(row, field, value)
    record(session, caller.name, "project.update", row, before, snapshot(row, *before))
    session.commit()
    return row


def list_members(session: Session, caller: Caller, project: orm.Project) -> list[orm.ProjectMember]:
    """The members of a project the caller may view, by username."""
    caller.require(P.PROJECT_VIEW, project)
    members = session.scalars(
        select(orm.ProjectMember).where(orm.ProjectMember.project_id == project.id)
    )
    return sorted(members, key=lambda m: m.user.username)


def project_roles(roles: list[str]) -> list[str]:
    """The roles, sorted and once each, if each is a project role; else a 422 naming them."""
    wrong = sorted(set(roles) - PROJECT_ROLES)
    if wrong:
        raise ProblemError(
            422,
            f"{', '.join(wrong)} {'is' if len(wrong) == 1 else 'are'} not a project role: "
            f"use {', '.join(sorted(PROJECT_ROLES))}",
        )
    return sorted(set(roles))


def add_member(
    session: Session, actor: str, project: orm.Project, user: orm.User, roles: list[str]
) -> orm.ProjectMember:
    """`user` joins `project` with `roles`; not committed (see `add_project_member`)."""
    if session.get(orm.ProjectMember, (project.id, user.id)):
        raise ProblemError(409, f"{user.username} is a member of {project.slug} already")
    member = orm.ProjectMember(project_id=project.id, user_id=user.id, roles=project_roles(roles))
    member.user = user
    session.add(member)
    record(
        session,
        actor,
        "project.member.add",
        project,
        after={"username": user.username, "roles": member.roles},
    )
    return member


def add_project_member(
    session: Session, caller: Caller, project: str, body: schema.MemberAdd
) -> orm.ProjectMember:
    """Only administrators add members."""
    row = project_named(session, project)
    caller.require(P.MEMBER_ADD)
    member = add_member(session, caller.name, row, user_named(session, body.username), body.roles)
    session.commit()
    return member


def refuse_own_roles(caller: Caller, project: orm.Project, username: str) -> None:
    """Two people for every change of project roles: no one changes (or drops) their own, so
    a coordinator cannot quietly make themselves a developer, nor leave unseen."""
    if username == caller.name:
        raise ProblemError(
            403,
            f"{caller.name} may not change their own roles in the project {project.slug}: "
            "another coordinator of the project or an administrator must",
        )


def _managed_member(
    session: Session, caller: Caller, project: str, username: str
) -> tuple[orm.Project, orm.ProjectMember]:
    row = project_named(session, project)
    caller.require(P.MEMBER_MANAGE, row)
    user = user_named(session, username)
    member = session.get(orm.ProjectMember, (row.id, user.id))
    if member is None:
        raise ProblemError(404, f"{username} is not a member of {row.slug}")
    refuse_own_roles(caller, row, username)
    return row, member


def update_project_member(
    session: Session, caller: Caller, project: str, username: str, body: schema.MemberUpdate
) -> orm.ProjectMember:
    row, member = _managed_member(session, caller, project, username)
    before = {"roles": list(member.roles)}
    member.roles = project_roles(body.roles)
    record(
        session,
        caller.name,
        "project.member.roles",
        row,
        before,
        {"username": username, "roles": member.roles},
    )
    session.commit()
    return member


def remove_project_member(session: Session, caller: Caller, project: str, username: str) -> None:
    row, member = _managed_member(session, caller, project, username)
    session.delete(member)
    record(
        session,
        caller.name,
        "project.member.remove",
        row,
        before={"username": username, "roles": list(member.roles)},
    )
    session.commit()
