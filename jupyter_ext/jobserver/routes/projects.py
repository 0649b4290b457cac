"""Projects and their members: the API's face of `services.projects`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from ... import schema
from .. import views
from ..callers import Caller
from ..deps import SessionDep, requires
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..services import projects

router = APIRouter(tags=["projects"])

ProjectViewer = Annotated[Caller, requires(P.PROJECT_VIEW, "project")]
MemberManager = Annotated[Caller, requires(P.MEMBER_MANAGE, "project")]


@router.get("/projects")
def list_projects(
    request: Request,
    caller: Annotated[Caller, requires(P.SIGNED_IN)],
    session: SessionDep,
    org: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.Project]:
    found = projects.list_projects(session, caller, org, decode_cursor(cursor), limit + 1)
    rows, next_url = page(request, found, limit, lambda p: p.number)
    return schema.Page(items=[views.project(p) for p in rows], next=next_url)


@router.post("/projects", status_code=201)
def add_project(
    body: schema.ProjectCreate,
    caller: Annotated[Caller, requires(P.PROJECT_CREATE)],
    session: SessionDep,
) -> schema.Project:
    return views.project(projects.add_project(session, caller, body))


@router.get("/projects/{project}")
def get_project(project: str, caller: ProjectViewer, session: SessionDep) -> schema.Project:
    return views.project(projects.viewable_project(session, caller, None, project))


@router.patch("/projects/{project}")
def update_project(
    project: str,
    body: schema.ProjectUpdate,
    caller: Annotated[Caller, requires(P.PROJECT_MANAGE, "project")],
    session: SessionDep,
) -> schema.Project:
    return views.project(projects.update_project(session, caller, project, body))


@router.get("/projects/{project}/members")
def list_members(project: str, caller: ProjectViewer, session: SessionDep) -> list[schema.Member]:
    row = projects.viewable_project(session, caller, None, project)
    return [views.member(m) for m in projects.list_members(session, caller, row)]


@router.post("/projects/{project}/members", status_code=201)
def add_project_member(
    project: str,
    body: schema.MemberAdd,
    caller: Annotated[Caller, requires(P.MEMBER_ADD)],
    session: SessionDep,
) -> schema.Member:
    return views.member(projects.add_project_member(session, caller, project, body))


@router.patch("/projects/{project}/members/{username}")
def update_project_member(
    project: str,
    username: str,
    body: schema.MemberUpdate,
    caller: MemberManager,
    session: SessionDep,
) -> schema.Member:
    return views.member(projects.update_project_member(session, caller, project, username, body))


@router.delete("/projects/{project}/members/{username}", status_code=204)
def remove_project_member(
    project: str, username: str, caller: MemberManager, session: SessionDep
) -> Response:
    projects.remove_project_member(session, caller, project, username)
    return Response(status_code=204)
