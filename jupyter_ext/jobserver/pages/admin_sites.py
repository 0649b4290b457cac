"""A backend's administration page: the people the site names to check, or publish, what
leaves it. Their roles hold for releases of that backend only, beside the global output
checkers and publishers. A face of `services.site_reviewers` (the rules, the audit)."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ...schema.states import SiteRole
from .. import orm, views
from ..deps import Caller, SessionDep
from ..permissions import Permission as P
from ..services import orgs, site_reviewers
from . import field, field_list, form, page
from .auth import page_caller
from .forms import attempt, see
from .render import render

SITE_ROLES = [r.value for r in SiteRole]
DONE = {
    "site-member": "Saved: their roles at this site are as listed.",
    "site-member-removed": "Removed: they hold no role at this site now (global roles stay).",
}


def _site_page(request, session, caller, backend: str, problem=None, values=None):
    caller.require(P.BACKEND_MANAGE)  # the page names people: only who may name them sees it
    row = orgs.get_backend(session, caller, backend)
    members = [
        views.site_member(m) for m in site_reviewers.list_site_members(session, caller, backend)
    ]
    return render(
        request,
        "admin_backend.html",
        caller,
        status=problem.status if problem else 200,
        backend=views.backend(row, orm.utcnow()),
        members=members,
        site_roles=SITE_ROLES,
        problem=problem,
        values=values or {"roles": []},
        notice=DONE.get(request.query_params.get("done", "")),
    )


@page("/backends/{backend}", P.BACKEND_MANAGE)
def backend_page(backend: str, request: Request, session: SessionDep):
    """A backend's own page: how it is, and its output checkers and publishers."""
    return _site_page(request, session, page_caller(request, session), backend)


@form("/backends/{backend}/members")
def name_site_member(
    request: Request, session: Session, caller: Caller, fields: FormData, backend: str
):
    """Name someone this site's checker or publisher, with exactly the roles ticked."""
    values = {
        "username": field(fields, "username").strip().lstrip("@"),
        "roles": field_list(fields, "role"),
    }

    def save():
        site_reviewers.set_site_member(
            session, caller, backend, values["username"], values["roles"]
        )
        return see(request, f"backends/{backend}", "site-member")

    return attempt(
        session,
        save,
        lambda problem: _site_page(request, session, caller, backend, problem, values),
    )


@form("/backends/{backend}/members/{username}/remove")
def remove_site_member(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    backend: str,
    username: str,
):
    def remove():
        site_reviewers.remove_site_member(session, caller, backend, username)
        return see(request, f"backends/{backend}", "site-member-removed")

    return attempt(
        session, remove, lambda problem: _site_page(request, session, caller, backend, problem)
    )
