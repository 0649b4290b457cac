"""Pages for people (the user guide's steps 5 and 6): global roles and adding someone to a
project, then a project's settings, members and their roles. Faces of `services.accounts`
and `services.projects`."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ... import schema
from ...schema.common import Model, Slug
from ...schema.states import PROJECT_ROLES
from .. import views
from ..deps import Caller, SessionDep
from ..errors import ProblemError
from ..pagination import decode_cursor
from ..permissions import Permission as P
from ..services import accounts, projects
from ..services.lookup import project_named
from . import field as text
from . import field_list as texts
from . import form, page
from .auth import page_caller
from .forms import GLOBAL_ROLES, LISTED, MEMBER_ROLES, attempt, body, listed, notice, see
from .render import render

PROJECT_STATUSES = ("ongoing", "paused", "completed")


class ProjectField(Model):
    """A project named in a form field, as the API's addresses name it."""

    project: Slug


# -- people: global roles and memberships (step 5) ---------------------------------------------


@page("/users", P.USER_VIEW)
def users_page(request: Request, session: SessionDep, q: str = "", cursor: str = ""):
    caller = page_caller(request, session)
    found = accounts.list_users(
        session, caller, q or None, decode_cursor(cursor or None, str), LISTED + 1
    )
    rows, older = listed(found, lambda u: u.username)
    return render(
        request, "admin_users.html", caller, users=[views.user(u) for u in rows], q=q, older=older
    )


def _user_page(request, session, caller, username, problem=None, values=None):
    found = views.user(accounts.get_user(session, caller, username))
    choices = (
        [p.slug for p in session.scalars(projects.visible_projects(caller).limit(1000))]
        if caller.can(P.MEMBER_ADD)
        else []
    )
    return render(
        request,
        "admin_user.html",
        caller,
        status=problem.status if problem else 200,
        person=found,
        roles=GLOBAL_ROLES,
        member_roles=MEMBER_ROLES,
        project_roles=PROJECT_ROLES,
        project_choices=choices,
        problem=problem,
        values=values or {},
        notice=notice(request),
    )


@page("/users/{username}", P.USER_VIEW)
def user_page(username: str, request: Request, session: SessionDep):
    """A person: their global roles (set only by an administrator), and adding them to a
    project (only administrators add members)."""
    return _user_page(request, session, page_caller(request, session), username)


@form("/users/{username}/roles")
def set_global_roles(
    request: Request, session: Session, caller: Caller, fields: FormData, username: str
):
    def save():
        update = body(schema.UserUpdate, roles=texts(fields, "roles"))
        accounts.update_user(session, caller, username, update)
        return see(request, f"users/{quote(username)}", "roles")

    return attempt(
        session, save, lambda problem: _user_page(request, session, caller, username, problem)
    )


@form("/users/{username}/projects")
def add_to_project(
    request: Request, session: Session, caller: Caller, fields: FormData, username: str
):
    values = {"project": text(fields, "project").strip(), "roles": texts(fields, "roles")}

    def add():
        added = body(schema.MemberAdd, username=username, roles=values["roles"])
        project = body(ProjectField, project=values["project"]).project
        projects.add_project_member(session, caller, project, added)
        return see(request, f"users/{quote(username)}", "project-member")

    return attempt(
        session,
        add,
        lambda problem: _user_page(request, session, caller, username, problem, values),
    )


# -- project settings (step 6) -----------------------------------------------------------------


def _project(session: Session, org: str, project: str):
    """The project the address names, if the address is its own (the domain asks the rest)."""
    row = project_named(session, project)
    if row.org.slug != org:
        raise ProblemError(404, f"there is no project {org}/{project}")
    return row


def _settings(request, session, caller, org, project, problem=None, values=None):
    row = projects.viewable_project(session, caller, org, project)
    caller.require(P.PROJECT_MANAGE, row)
    return render(
        request,
        "admin_settings.html",
        caller,
        status=problem.status if problem else 200,
        project=row,
        members=[views.member(m) for m in projects.list_members(session, caller, row)],
        member_roles=MEMBER_ROLES,
        status_options=[(s, s) for s in PROJECT_STATUSES],
        problem=problem,
        values=values or {},
        notice=notice(request),
        may_manage_members=caller.can(P.MEMBER_MANAGE, row),
        may_add=caller.can(P.MEMBER_ADD),
    )


@page("/{org}/{project}/settings", P.PROJECT_MANAGE, "project")
def settings_page(org: str, project: str, request: Request, session: SessionDep):
    """A project's name, status, members and their roles."""
    return _settings(request, session, page_caller(request, session), org, project)


def _settings_action(request, session, caller, org, project, done, action, values=None):
    _project(session, org, project)

    def run():
        action()
        return see(request, f"{org}/{project}/settings", done)

    return attempt(
        session,
        run,
        lambda problem: _settings(request, session, caller, org, project, problem, values),
    )


@form("/{org}/{project}/settings")
def save_settings(
    request: Request, session: Session, caller: Caller, fields: FormData, org: str, project: str
):
    values = {"name": text(fields, "name"), "status": text(fields, "status")}
    update = {"name": values["name"], **({"status": values["status"]} if values["status"] else {})}
    return _settings_action(
        request,
        session,
        caller,
        org,
        project,
        "settings",
        lambda: projects.update_project(
            session, caller, project, body(schema.ProjectUpdate, **update)
        ),
        values,
    )


@form("/{org}/{project}/settings/members")
def add_member(
    request: Request, session: Session, caller: Caller, fields: FormData, org: str, project: str
):
    values = {
        "username": text(fields, "username").strip().lstrip("@"),
        "roles": texts(fields, "roles"),
    }
    return _settings_action(
        request,
        session,
        caller,
        org,
        project,
        "member",
        lambda: projects.add_project_member(
            session, caller, project, body(schema.MemberAdd, **values)
        ),
        values,
    )


@form("/{org}/{project}/settings/members/{username}")
def set_member_roles(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    org: str,
    project: str,
    username: str,
):
    return _settings_action(
        request,
        session,
        caller,
        org,
        project,
        "member-roles",
        lambda: projects.update_project_member(
            session,
            caller,
            project,
            username,
            body(schema.MemberUpdate, roles=texts(fields, "roles")),
        ),
    )


@form("/{org}/{project}/settings/members/{username}/remove")
def remove_member(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    org: str,
    project: str,
    username: str,
):
    return _settings_action(
        request,
        session,
        caller,
        org,
        project,
        "member-removed",
        lambda: projects.remove_project_member(session, caller, project, username),
    )
