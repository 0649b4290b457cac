"""The project page (its route is in `views`, registered after the pages with fixed segments):
its workspaces, datasets (`datasets.py`), limits on each backend (`limits.py`) and
researchers; and the administrators' form that sets or lifts its limits on one backend.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from .. import orm, views
from ..callers import Caller
from ..permissions import Permission as P
from ..services import limits as limits_service
from ..services import projects
from . import field, form
from .datasets import project_datasets
from .forms import attempt
from .limits import FIELDS, limits_body, project_limits
from .render import prefix_of, render


def project_answer(
    request: Request,
    session: Session,
    caller: Caller,
    org: str,
    project: str,
    *,
    status: int = 200,
    limits_problem: tuple[str, str] | None = None,
    limits_values: dict[str, dict[str, str]] | None = None,
):
    """The project page; with a refused limits form, its sentence and what was typed."""
    row = projects.viewable_project(session, caller, org, project)
    spaces = session.scalars(
        select(orm.Workspace).where(orm.Workspace.project_id == row.id).order_by(orm.Workspace.name)
    ).all()
    members = [views.member(m) for m in projects.list_members(session, caller, row)]
    return render(
        request,
        "project.html",
        caller,
        status=status,
        project=row,
        workspaces=spaces,
        members=members,
        **project_datasets(request, caller, session, row),
        **project_limits(request, caller, session, row, limits_problem, limits_values),
    )


@form("/{org}/{project}/settings/limits/{backend}")
def set_limits(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    org: str,
    project: str,
    backend: str,
):
    """Set the project's cap and quota on `backend`; an empty field lifts that limit."""
    caller.require(P.BACKEND_MANAGE)
    projects.viewable_project(session, caller, org, project)  # the address is its own
    values = {name: field(fields, name).strip() for name in FIELDS}

    def save():
        limits_service.set_limits(session, caller, project, backend, limits_body(values))
        here = f"{prefix_of(request)}{org}/{project}?done=limits#limits"
        return RedirectResponse(here, status_code=303)

    def again(problem):
        return project_answer(
            request,
            session,
            caller,
            org,
            project,
            status=problem.status,
            limits_problem=(backend, problem.detail),
            limits_values={backend: values},
        )

    return attempt(session, save, again)
