"""Projects and their members."""

from __future__ import annotations

import re

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ... import schema
from ...schema.states import PROJECT_ROLES
from .. import orm, views
from ..audit import record
from ..deps import Caller, CallerDep, SessionDep, permission
from ..errors import ProblemError
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ._common import org_named, project_named, snapshot, user_named

router = APIRouter(tags=["projects"])


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64].strip("-") or "project"


def visible_projects(caller: Caller):
    """A query of the projects the caller may view."""
    query = select(orm.Project)
    if caller.can(P.PROJECT_VIEW):  # a global role or a global project role
        return query
    member_of = select(orm.ProjectMember.project_id).where(
        orm.ProjectMember.user_id == caller.user.id
    )
    return query.where(orm.Project.id.in_(member_of))


def create_project(
    session: Session, actor: str, org: orm.Org, name: str, slug: str | None = None
) -> orm.Project:
    slug = slug or slugify(name)
    if session.scalar(select(orm.Project).where(orm.Project.slug == slug)):
        raise ProblemError(409, f"a project {slug} exists already: choose another slug")
    number = (session.scalar(select(func.max(orm.Project.number))) or 0) + 1
    project = orm.Project(org_id=org.id, name=name, slug=slug, number=number)
    project.org = org
    session.add(project)
    record(session, actor, "project.create", project, after={"org": org.slug, "name": name})
    return project


@router.get("/projects", openapi_extra=permission(P.SIGNED_IN))
def list_projects(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    org: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.Project]:
    query = visible_projects(caller).order_by(orm.Project.number)
    if org:
        query = query.where(orm.Project.org_id == org_named(session, org).id)
    if (after := decode_cursor(cursor)) is not None:
        query = query.where(orm.Project.number > after)
    rows, next_url = page(
        request, session.scalars(query.limit(limit + 1)).all(), limit, lambda p: p.number
    )
    return schema.Page(items=[views.project(p) for p in rows], next=next_url)


@router.post("/projects", status_code=201, openapi_extra=permission(P.PROJECT_CREATE))
def add_project(
    body: schema.ProjectCreate, caller: CallerDep, session: SessionDep
) -> schema.Project:
    caller.require(P.PROJECT_CREATE)
    project = create_project(
        session, caller.name, org_named(session, body.org), body.name, body.slug
    )
    session.commit()
    return views.project(project)


def viewable_project(caller: Caller, session: Session, slug: str) -> orm.Project:
    project = project_named(session, slug)
    caller.require(P.PROJECT_VIEW, project)
    return project


@router.get("/projects/{project}", openapi_extra=permission(P.PROJECT_VIEW, "project"))
def get_project(project: str, caller: CallerDep, session: SessionDep) -> schema.Project:
    return views.project(viewable_project(caller, session, project))


@router.patch("/projects/{project}", openapi_extra=permission(P.PROJECT_MANAGE, "project"))
def update_project(
    project: str, body: schema.ProjectUpdate, caller: CallerDep, session: SessionDep
) -> schema.Project:
    row = project_named(session, project)
    caller.require(P.PROJECT_MANAGE, row)
    before = snapshot(row, "name", "status")
    for field, value in body.model_dump(exclude_unset=True).items():
        if value is not None:
            setattr(row, field, value)
    record(session, caller.name, "project.update", row, before, snapshot(row, *before))
    session.commit()
    return views.project(row)


@router.get("/projects/{project}/members", openapi_extra=permission(P.PROJECT_VIEW, "project"))
def list_members(project: str, caller: CallerDep, session: SessionDep) -> list[schema.Member]:
    row = viewable_project(caller, session, project)
    members = session.scalars(
        select(orm.ProjectMember).where(orm.ProjectMember.project_id == row.id)
    )
    return sorted((views.member(m) for m in members), key=lambda m: m.username)


def _project_roles(roles: list[str]) -> list[str]:
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
    if session.get(orm.ProjectMember, (project.id, user.id)):
        raise ProblemError(409, f"{user.username} is a member of {project.slug} already")
    member = orm.ProjectMember(project_id=project.id, user_id=user.id, roles=_project_roles(roles))
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


@router.post("/projects/{project}/members", status_code=201, openapi_extra=permission(P.MEMBER_ADD))
def add_project_member(
    project: str, body: schema.MemberAdd, caller: CallerDep, session: SessionDep
) -> schema.Member:
    row = project_named(session, project)
    caller.require(P.MEMBER_ADD)  # only administrators add members
    member = add_member(session, caller.name, row, user_named(session, body.username), body.roles)
    session.commit()
    return views.member(member)


def refuse_own_roles(caller: Caller, project: orm.Project, username: str) -> None:
    """Two people for every change of project roles: no one changes (or drops) their own, so
    a coordinator cannot quietly make themselves a developer, nor leave unseen."""
    if username == caller.name:
        raise ProblemError(
            403,
            f"{caller.name} may not change their own roles in the project {project.slug}: "
            "another coordinator of the project or an administrator must",
        )


def _member(session: Session, project: orm.Project, username: str) -> orm.ProjectMember:
    user = user_named(session, username)
    member = session.get(orm.ProjectMember, (project.id, user.id))
    if member is None:
        raise ProblemError(404, f"{username} is not a member of {project.slug}")
    return member


@router.patch(
    "/projects/{project}/members/{username}", openapi_extra=permission(P.MEMBER_MANAGE, "project")
)
def update_project_member(
    project: str, username: str, body: schema.MemberUpdate, caller: CallerDep, session: SessionDep
) -> schema.Member:
    row = project_named(session, project)
    caller.require(P.MEMBER_MANAGE, row)
    member = _member(session, row, username)
    refuse_own_roles(caller, row, username)
    before = {"roles": list(member.roles)}
    member.roles = _project_roles(body.roles)
    record(
        session,
        caller.name,
        "project.member.roles",
        row,
        before,
        {"username": username, "roles": member.roles},
    )
    session.commit()
    return views.member(member)


@router.delete(
    "/projects/{project}/members/{username}",
    status_code=204,
    openapi_extra=permission(P.MEMBER_MANAGE, "project"),
)
def remove_project_member(
    project: str, username: str, caller: CallerDep, session: SessionDep
) -> Response:
    row = project_named(session, project)
    caller.require(P.MEMBER_MANAGE, row)
    member = _member(session, row, username)
    refuse_own_roles(caller, row, username)
    session.delete(member)
    record(
        session,
        caller.name,
        "project.member.remove",
        row,
        before={"username": username, "roles": list(member.roles)},
    )
    session.commit()
    return Response(status_code=204)
