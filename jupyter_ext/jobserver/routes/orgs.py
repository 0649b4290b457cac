"""Organisations, their members, backends, and the backends each organisation may use."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import schema
from .. import orm, views
from ..audit import record
from ..deps import CallerDep, SessionDep, permission
from ..errors import ProblemError
from ..permissions import Permission as P
from ..security import new_token, token_hash, token_prefix
from ._common import (
    RESERVED_ORG_NAMES,
    backend_named,
    org_named,
    refuse_reserved,
    snapshot,
    user_named,
)

router = APIRouter(tags=["organisations and backends"])


@router.get("/orgs", openapi_extra=permission(P.SIGNED_IN))
def list_orgs(caller: CallerDep, session: SessionDep) -> list[schema.Org]:
    return [views.org(o) for o in session.scalars(select(orm.Org).order_by(orm.Org.slug))]


@router.post("/orgs", status_code=201, openapi_extra=permission(P.ORG_CREATE))
def create_org(body: schema.OrgCreate, caller: CallerDep, session: SessionDep) -> schema.Org:
    caller.require(P.ORG_CREATE)
    refuse_reserved(body.slug, RESERVED_ORG_NAMES, "organisation")
    if session.scalar(select(orm.Org).where(orm.Org.slug == body.slug)):
        raise ProblemError(409, f"the organisation {body.slug} exists already")
    org = orm.Org(slug=body.slug, name=body.name)
    session.add(org)
    record(session, caller.name, "org.create", org, after=body.model_dump())
    session.commit()
    return views.org(org)


@router.get("/orgs/{org}", openapi_extra=permission(P.SIGNED_IN))
def get_org(org: str, caller: CallerDep, session: SessionDep) -> schema.Org:
    return views.org(org_named(session, org))


@router.patch("/orgs/{org}", openapi_extra=permission(P.ORG_MANAGE))
def update_org(
    org: str, body: schema.OrgUpdate, caller: CallerDep, session: SessionDep
) -> schema.Org:
    caller.require(P.ORG_MANAGE)
    row = org_named(session, org)
    before = snapshot(row, "name")
    if body.name is not None:
        row.name = body.name
    record(session, caller.name, "org.update", row, before, snapshot(row, "name"))
    session.commit()
    return views.org(row)


@router.get("/orgs/{org}/members", openapi_extra=permission(P.SIGNED_IN))
def list_org_members(org: str, caller: CallerDep, session: SessionDep) -> list[schema.OrgMember]:
    row = org_named(session, org)
    members = session.scalars(select(orm.OrgMember).where(orm.OrgMember.org_id == row.id))
    return sorted(
        (schema.OrgMember(username=m.user.username, created_at=m.created_at) for m in members),
        key=lambda m: m.username,
    )


@router.post("/orgs/{org}/members", status_code=201, openapi_extra=permission(P.ORG_MANAGE))
def add_org_member(
    org: str, body: schema.OrgMemberAdd, caller: CallerDep, session: SessionDep
) -> schema.OrgMember:
    caller.require(P.ORG_MANAGE)
    row, user = org_named(session, org), user_named(session, body.username)
    if session.get(orm.OrgMember, (row.id, user.id)):
        raise ProblemError(409, f"{user.username} is a member of {row.slug} already")
    member = orm.OrgMember(org_id=row.id, user_id=user.id)
    session.add(member)
    record(session, caller.name, "org.member.add", row, after={"username": user.username})
    session.commit()
    return schema.OrgMember(username=user.username, created_at=member.created_at)


@router.delete(
    "/orgs/{org}/members/{username}", status_code=204, openapi_extra=permission(P.ORG_MANAGE)
)
def remove_org_member(org: str, username: str, caller: CallerDep, session: SessionDep) -> Response:
    caller.require(P.ORG_MANAGE)
    row, user = org_named(session, org), user_named(session, username)
    member = session.get(orm.OrgMember, (row.id, user.id))
    if member is None:
        raise ProblemError(404, f"{username} is not a member of {org}")
    session.delete(member)
    record(session, caller.name, "org.member.remove", row, before={"username": username})
    session.commit()
    return Response(status_code=204)


@router.post("/orgs/{org}/backends", status_code=201, openapi_extra=permission(P.ORG_MANAGE))
def allow_backend(
    org: str, body: schema.OrgBackendAdd, caller: CallerDep, session: SessionDep
) -> schema.Org:
    caller.require(P.ORG_MANAGE)
    row, backend = org_named(session, org), backend_named(session, body.backend)
    if backend in row.backends:
        raise ProblemError(409, f"{org} may use {backend.slug} already")
    row.backends.append(backend)
    record(session, caller.name, "org.backend.add", row, after={"backend": backend.slug})
    session.commit()
    return views.org(row)


@router.delete(
    "/orgs/{org}/backends/{backend}", status_code=204, openapi_extra=permission(P.ORG_MANAGE)
)
def disallow_backend(org: str, backend: str, caller: CallerDep, session: SessionDep) -> Response:
    caller.require(P.ORG_MANAGE)
    row, target = org_named(session, org), backend_named(session, backend)
    if target not in row.backends:
        raise ProblemError(404, f"{org} may not use {backend} already")
    row.backends.remove(target)
    record(session, caller.name, "org.backend.remove", row, before={"backend": backend})
    session.commit()
    return Response(status_code=204)


def visible_backends(caller, session: Session) -> list[orm.Backend]:
    """Every backend for those who may see all; else those of their organisations and projects."""
    query = select(orm.Backend).order_by(orm.Backend.slug)
    if not caller.can(P.BACKEND_VIEW_ALL):
        org_ids = select(orm.OrgMember.org_id).where(orm.OrgMember.user_id == caller.user.id)
        project_orgs = (
            select(orm.Project.org_id)
            .join(orm.ProjectMember, orm.ProjectMember.project_id == orm.Project.id)
            .where(orm.ProjectMember.user_id == caller.user.id)
        )
        usable = select(orm.OrgBackend.backend_id).where(
            orm.OrgBackend.org_id.in_(org_ids.union(project_orgs))
        )
        query = query.where(orm.Backend.id.in_(usable))
    return list(session.scalars(query))


@router.get("/backends", openapi_extra=permission(P.SIGNED_IN))
def list_backends(caller: CallerDep, session: SessionDep) -> list[schema.Backend]:
    now = orm.utcnow()
    return [views.backend(b, now) for b in visible_backends(caller, session)]


@router.post("/backends", status_code=201, openapi_extra=permission(P.BACKEND_MANAGE))
def create_backend(
    body: schema.BackendCreate, caller: CallerDep, session: SessionDep
) -> schema.Backend:
    caller.require(P.BACKEND_MANAGE)
    if session.scalar(select(orm.Backend).where(orm.Backend.slug == body.slug)):
        raise ProblemError(409, f"the backend {body.slug} exists already")
    backend = orm.Backend(slug=body.slug, name=body.name, log_policy=body.log_policy)
    session.add(backend)
    record(session, caller.name, "backend.create", backend, after=body.model_dump(mode="json"))
    session.commit()
    return views.backend(backend)


@router.get("/backends/{backend}", openapi_extra=permission(P.SIGNED_IN))
def get_backend(backend: str, caller: CallerDep, session: SessionDep) -> schema.Backend:
    row = backend_named(session, backend)
    if row not in visible_backends(caller, session):
        raise ProblemError(404, f"there is no backend {backend!r}, or you may not see it")
    return views.backend(row)


@router.patch("/backends/{backend}", openapi_extra=permission(P.BACKEND_MANAGE))
def update_backend(
    backend: str, body: schema.BackendUpdate, caller: CallerDep, session: SessionDep
) -> schema.Backend:
    caller.require(P.BACKEND_MANAGE)
    row = backend_named(session, backend)
    before = snapshot(row, "name", "log_policy")
    for field, value in body.model_dump(exclude_unset=True, mode="json").items():
        if value is not None:
            setattr(row, field, value)
    record(session, caller.name, "backend.update", row, before, snapshot(row, *before))
    session.commit()
    return views.backend(row)


def issue_runner_token(session: Session, backend: orm.Backend) -> str:
    """A new runner token for `backend`; earlier ones are revoked. Only its hash is kept."""
    now = orm.utcnow()
    for old in session.scalars(
        select(orm.RunnerToken).where(
            orm.RunnerToken.backend_id == backend.id, orm.RunnerToken.revoked_at.is_(None)
        )
    ):
        old.revoked_at = now
    token = new_token("jxr")
    session.add(
        orm.RunnerToken(backend_id=backend.id, prefix=token_prefix(token), hash=token_hash(token))
    )
    return token


@router.post(
    "/backends/{backend}/token", status_code=201, openapi_extra=permission(P.BACKEND_MANAGE)
)
def rotate_runner_token(
    backend: str, request: Request, caller: CallerDep, session: SessionDep
) -> schema.RunnerTokenCreated:
    caller.require(P.BACKEND_MANAGE)
    row = backend_named(session, backend)
    token = issue_runner_token(session, row)
    record(session, caller.name, "backend.token.rotate", row)
    session.commit()
    return schema.RunnerTokenCreated(backend=row.slug, token=token)
