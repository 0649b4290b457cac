"""Pages for backends and organisations (the user guide's steps 3 and 4): the backends one may
see, runner tokens, organisations, their members and usable backends, and adding a project
from an organisation's page. Faces of `services.orgs` and `services.projects`."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ... import schema
from ...schema.states import LogPolicy
from .. import orm, views
from ..deps import Caller, SessionDep
from ..permissions import Permission as P
from ..services import orgs, projects
from . import field as text
from . import form, page
from .auth import page_caller
from .forms import attempt, body, notice, see
from .render import render


def _backends_page(request, session, caller, problem=None, values=None):
    now = orm.utcnow()
    return render(
        request,
        "admin_backends.html",
        caller,
        status=problem.status if problem else 200,
        backends=[views.backend(b, now) for b in orgs.visible_backends(caller, session)],
        all=caller.can(P.BACKEND_VIEW_ALL),
        log_policies=[p.value for p in LogPolicy],
        problem=problem,
        values=values or {},
        notice=notice(request),
    )


@page("/backends", P.SIGNED_IN)
def backends_page(request: Request, session: SessionDep):
    """The backends one belongs to (all of them for those who may see all): online, last seen,
    free capacity; for administrators, a form to add one and their runner tokens."""
    return _backends_page(request, session, page_caller(request, session))


@form("/backends")
def create_backend(request: Request, session: Session, caller: Caller, fields: FormData):
    values = {n: text(fields, n) for n in ("slug", "name", "log_policy")}

    def create():
        given = {k: v for k, v in values.items() if v or k != "log_policy"}  # else its default
        orgs.create_backend(session, caller, body(schema.BackendCreate, **given))
        return see(request, "backends", "backend")

    return attempt(
        session, create, lambda problem: _backends_page(request, session, caller, problem, values)
    )


@form("/backends/{backend}/token")
def new_runner_token(
    request: Request, session: Session, caller: Caller, fields: FormData, backend: str
):
    """A new runner token, shown once in the answer (earlier ones stop working)."""
    row, token = orgs.rotate_runner_token(session, caller, backend)
    made = schema.RunnerTokenCreated(backend=row.slug, token=token)
    answer = render(request, "admin_token.html", caller, created=made)
    answer.headers["Cache-Control"] = "no-store"
    return answer


def _orgs_page(request, session, caller, problem=None, values=None):
    return render(
        request,
        "admin_orgs.html",
        caller,
        status=problem.status if problem else 200,
        orgs=[views.org(o) for o in orgs.list_orgs(session)],
        problem=problem,
        values=values or {},
        notice=notice(request),
    )


@page("/orgs", P.SIGNED_IN)
def orgs_page(request: Request, session: SessionDep):
    return _orgs_page(request, session, page_caller(request, session))


@form("/orgs")
def create_org(request: Request, session: Session, caller: Caller, fields: FormData):
    values = {n: text(fields, n) for n in ("slug", "name")}

    def create():
        made = orgs.create_org(session, caller, body(schema.OrgCreate, **values))
        return see(request, f"orgs/{made.slug}", "org")

    return attempt(
        session, create, lambda problem: _orgs_page(request, session, caller, problem, values)
    )


def _org_settings(request, session, caller, org, problem=None, values=None):
    caller.require(P.ORG_MANAGE)
    row = views.org(orgs.get_org(session, org))
    usable = [b for b in orgs.visible_backends(caller, session) if b.slug not in row.backends]
    members = [
        schema.OrgMember(username=m.user.username, created_at=m.created_at)
        for m in orgs.list_org_members(session, org)
    ]
    return render(
        request,
        "admin_org_settings.html",
        caller,
        status=problem.status if problem else 200,
        org=row,
        members=members,
        backend_options=[(b.slug, f"{b.name} ({b.slug})") for b in usable],
        problem=problem,
        values=values or {},
        notice=notice(request),
    )


@page("/orgs/{org}", P.ORG_MANAGE)
def org_settings_page(org: str, request: Request, session: SessionDep):
    """An organisation's administration: its name, members and the backends it may use."""
    return _org_settings(request, session, page_caller(request, session), org)


def _org_action(request, session, caller, org, done, action, values=None):
    def run():
        action()
        return see(request, f"orgs/{org}", done)

    return attempt(
        session, run, lambda problem: _org_settings(request, session, caller, org, problem, values)
    )


@form("/orgs/{org}/name")
def rename_org(request: Request, session: Session, caller: Caller, fields: FormData, org: str):
    values = {"name": text(fields, "name")}
    return _org_action(
        request,
        session,
        caller,
        org,
        "org-name",
        lambda: orgs.update_org(session, caller, org, body(schema.OrgUpdate, **values)),
        values,
    )


@form("/orgs/{org}/members")
def add_org_member(request: Request, session: Session, caller: Caller, fields: FormData, org: str):
    values = {"username": text(fields, "username").strip().lstrip("@")}
    return _org_action(
        request,
        session,
        caller,
        org,
        "org-member",
        lambda: orgs.add_org_member(session, caller, org, body(schema.OrgMemberAdd, **values)),
        values,
    )


@form("/orgs/{org}/members/{username}/remove")
def remove_org_member(
    request: Request, session: Session, caller: Caller, fields: FormData, org: str, username: str
):
    return _org_action(
        request,
        session,
        caller,
        org,
        "org-member-removed",
        lambda: orgs.remove_org_member(session, caller, org, username),
    )


@form("/orgs/{org}/backends")
def allow_backend(request: Request, session: Session, caller: Caller, fields: FormData, org: str):
    values = {"backend": text(fields, "backend")}
    return _org_action(
        request,
        session,
        caller,
        org,
        "org-backend",
        lambda: orgs.allow_backend(session, caller, org, body(schema.OrgBackendAdd, **values)),
        values,
    )


@form("/orgs/{org}/backends/{backend}/remove")
def disallow_backend(
    request: Request, session: Session, caller: Caller, fields: FormData, org: str, backend: str
):
    return _org_action(
        request,
        session,
        caller,
        org,
        "org-backend-removed",
        lambda: orgs.disallow_backend(session, caller, org, backend),
    )


@form("/orgs/{org}/projects")
def add_project(request: Request, session: Session, caller: Caller, fields: FormData, org: str):
    """The "add a project" form of the organisation's page (`/{org}`): the API's POST /projects."""
    values = {"name": text(fields, "name"), "slug": text(fields, "slug").strip()}

    def create():
        made = projects.add_project(
            session,
            caller,
            body(schema.ProjectCreate, org=org, name=values["name"], slug=values["slug"] or None),
        )
        return see(request, f"{org}/{made.slug}/settings")

    def again(problem):  # the organisation's page again, as views.org_page renders it
        row = views.org(orgs.get_org(session, org))
        found = projects.list_projects(session, caller, org=org, limit=100)
        return render(
            request,
            "org.html",
            caller,
            status=problem.status,
            org=row,
            projects=[views.project(p) for p in found],
            problem=problem,
            values=values,
        )

    return attempt(session, create, again)
