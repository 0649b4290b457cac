"""Organisations, their members, backends, and the backends each organisation may use: the
API's face of `services.orgs`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Response

from ... import schema
from .. import orm, views
from ..callers import Caller
from ..deps import SessionDep, requires
from ..permissions import Permission as P
from ..services import orgs, site_reviewers

router = APIRouter(tags=["organisations and backends"])

SignedIn = Annotated[Caller, requires(P.SIGNED_IN)]
OrgManager = Annotated[Caller, requires(P.ORG_MANAGE)]
BackendManager = Annotated[Caller, requires(P.BACKEND_MANAGE)]


def org_member(row: orm.OrgMember) -> schema.OrgMember:
    return schema.OrgMember(username=row.user.username, created_at=row.created_at)


@router.get("/orgs")
def list_orgs(caller: SignedIn, session: SessionDep) -> list[schema.Org]:
    return [views.org(o) for o in orgs.list_orgs(session)]


@router.post("/orgs", status_code=201)
def create_org(
    body: schema.OrgCreate,
    caller: Annotated[Caller, requires(P.ORG_CREATE)],
    session: SessionDep,
) -> schema.Org:
    return views.org(orgs.create_org(session, caller, body))


@router.get("/orgs/{org}")
def get_org(org: str, caller: SignedIn, session: SessionDep) -> schema.Org:
    return views.org(orgs.get_org(session, org))


@router.patch("/orgs/{org}")
def update_org(
    org: str, body: schema.OrgUpdate, caller: OrgManager, session: SessionDep
) -> schema.Org:
    return views.org(orgs.update_org(session, caller, org, body))


@router.get("/orgs/{org}/members")
def list_org_members(org: str, caller: SignedIn, session: SessionDep) -> list[schema.OrgMember]:
    return [org_member(m) for m in orgs.list_org_members(session, org)]


@router.post("/orgs/{org}/members", status_code=201)
def add_org_member(
    org: str, body: schema.OrgMemberAdd, caller: OrgManager, session: SessionDep
) -> schema.OrgMember:
    return org_member(orgs.add_org_member(session, caller, org, body))


@router.delete("/orgs/{org}/members/{username}", status_code=204)
def remove_org_member(org: str, username: str, caller: OrgManager, session: SessionDep) -> Response:
    orgs.remove_org_member(session, caller, org, username)
    return Response(status_code=204)


@router.post("/orgs/{org}/backends", status_code=201)
def allow_backend(
    org: str, body: schema.OrgBackendAdd, caller: OrgManager, session: SessionDep
) -> schema.Org:
    return views.org(orgs.allow_backend(session, caller, org, body))


@router.delete("/orgs/{org}/backends/{backend}", status_code=204)
def disallow_backend(org: str, backend: str, caller: OrgManager, session: SessionDep) -> Response:
    orgs.disallow_backend(session, caller, org, backend)
    return Response(status_code=204)


@router.get("/backends")
def list_backends(caller: SignedIn, session: SessionDep) -> list[schema.Backend]:
    now = orm.utcnow()
    return [views.backend(b, now) for b in orgs.visible_backends(caller, session)]


@router.post("/backends", status_code=201)
def create_backend(
    body: schema.BackendCreate, caller: BackendManager, session: SessionDep
) -> schema.Backend:
    return views.backend(orgs.create_backend(session, caller, body))


@router.get("/backends/{backend}")
def get_backend(backend: str, caller: SignedIn, session: SessionDep) -> schema.Backend:
    return views.backend(orgs.get_backend(session, caller, backend))


@router.patch("/backends/{backend}")
def update_backend(
    backend: str, body: schema.BackendUpdate, caller: BackendManager, session: SessionDep
) -> schema.Backend:
    return views.backend(orgs.update_backend(session, caller, backend, body))


@router.post("/backends/{backend}/token", status_code=201)
def rotate_runner_token(
    backend: str, caller: BackendManager, session: SessionDep
) -> schema.RunnerTokenCreated:
    row, token = orgs.rotate_runner_token(session, caller, backend)
    return schema.RunnerTokenCreated(backend=row.slug, token=token)


@router.get("/backends/{backend}/members")
def list_site_members(
    backend: str,
    caller: Annotated[Caller, requires(P.BACKEND_VIEW_ALL)],
    session: SessionDep,
) -> list[schema.BackendMember]:
    """The people this site named to check or publish what leaves it."""
    members = site_reviewers.list_site_members(session, caller, backend)
    return [views.site_member(m) for m in members]


@router.put("/backends/{backend}/members/{username}")
def set_site_member(
    backend: str,
    username: str,
    body: schema.BackendMemberSet,
    caller: BackendManager,
    session: SessionDep,
) -> schema.BackendMember:
    """Name `username` this site's output checker or publisher (their roles hold here only)."""
    roles = [r.value for r in body.roles]
    return views.site_member(
        site_reviewers.set_site_member(session, caller, backend, username, roles)
    )


@router.delete("/backends/{backend}/members/{username}", status_code=204)
def remove_site_member(
    backend: str, username: str, caller: BackendManager, session: SessionDep
) -> Response:
    site_reviewers.remove_site_member(session, caller, backend, username)
    return Response(status_code=204)
