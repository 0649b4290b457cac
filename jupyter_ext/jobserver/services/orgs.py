"""Organisations, their members, the backends, their runner tokens, and which backends each
organisation may use. Everyone signed in sees the organisations; a backend only those who
belong to an organisation (or a project of one) that may use it, or who may see all."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import schema
from .. import orm
from ..audit import record
from ..callers import Caller
from ..errors import ProblemError
from ..permissions import Permission as P
from ..security import new_token, token_hash, token_prefix
from .lookup import (
    RESERVED_ORG_NAMES,
    backend_named,
    org_named,
    refuse_reserved,
    snapshot,
    user_named,
)


def list_orgs(session: Session) -> list[orm.Org]:
    return list(session.scalars(select(orm.Org).order_by(orm.Org.slug)))


def get_org(session: Session, slug: str) -> orm.Org:
    return org_named(session, slug)


def add_org(session: Session, actor: str, slug: str, name: str) -> orm.Org:
    """A new organisation, committed: by a caller allowed to (`create_org`) or the command line."""
    refuse_reserved(slug, RESERVED_ORG_NAMES, "organisation")
    if session.scalar(select(orm.Org).where(orm.Org.slug == slug)):
        raise ProblemError(409, f"the organisation {slug} exists already")
    org = orm.Org(slug=slug, name=name)
    session.add(org)
    record(session, actor, "org.create", org, after={"slug": slug, "name": name})
    session.commit()
    return org


def create_org(session: Session, caller: Caller, body: schema.OrgCreate) -> orm.Org:
    caller.require(P.ORG_CREATE)
    return add_org(session, caller.name, body.slug, body.name)


def update_org(session: Session, caller: Caller, slug: str, body: schema.OrgUpdate) -> orm.Org:
    caller.require(P.ORG_MANAGE)
    row = org_named(session, slug)
    before = snapshot(row, "name")
    if body.name is not None:
        row.name = body.name
    record(session, caller.name, "org.update", row, before, snapshot(row, "name"))
    session.commit()
    return row


def list_org_members(session: Session, slug: str) -> list[orm.OrgMember]:
    """An organisation's members, by username."""
    row = org_named(session, slug)
    members = session.scalars(select(orm.OrgMember).where(orm.OrgMember.org_id == row.id))
    return sorted(members, key=lambda m: m.user.username)


def add_org_member(
    session: Session, caller: Caller, slug: str, body: schema.OrgMemberAdd
) -> orm.OrgMember:
    caller.require(P.ORG_MANAGE)
    row, user = org_named(session, slug), user_named(session, body.username)
    if session.get(orm.OrgMember, (row.id, user.id)):
        raise ProblemError(409, f"{user.username} is a member of {row.slug} already")
    member = orm.OrgMember(org_id=row.id, user_id=user.id)
    member.user = user
    session.add(member)
    record(session, caller.name, "org.member.add", row, after={"username": user.username})
    session.commit()
    return member


def remove_org_member(session: Session, caller: Caller, slug: str, username: str) -> None:
    caller.require(P.ORG_MANAGE)
    row, user = org_named(session, slug), user_named(session, username)
    member = session.get(orm.OrgMember, (row.id, user.id))
    if member is None:
        raise ProblemError(404, f"{username} is not a member of {slug}")
    session.delete(member)
    record(session, caller.name, "org.member.remove", row, before={"username": username})
    session.commit()


def allow_backend(
    session: Session, caller: Caller, slug: str, body: schema.OrgBackendAdd
) -> orm.Org:
    caller.require(P.ORG_MANAGE)
    row, backend = org_named(session, slug), backend_named(session, body.backend)
    if backend in row.backends:
        raise ProblemError(409, f"{slug} may use {backend.slug} already")
    row.backends.append(backend)
    record(session, caller.name, "org.backend.add", row, after={"backend": backend.slug})
    session.commit()
    return row


def disallow_backend(session: Session, caller: Caller, slug: str, backend: str) -> None:
    caller.require(P.ORG_MANAGE)
    row, target = org_named(session, slug), backend_named(session, backend)
    if target not in row.backends:
        raise ProblemError(404, f"{slug} may not use {backend} already")
    row.backends.remove(target)
    record(session, caller.name, "org.backend.remove", row, before={"backend": backend})
    session.commit()


def visible_backends(caller: Caller, session: Session) -> list[orm.Backend]:
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


def get_backend(session: Session, caller: Caller, slug: str) -> orm.Backend:
    row = backend_named(session, slug)
    if row not in visible_backends(caller, session):
        raise ProblemError(404, f"there is no backend {slug!r}, or you may not see it")
    return row


def create_backend(session: Session, caller: Caller, body: schema.BackendCreate) -> orm.Backend:
    caller.require(P.BACKEND_MANAGE)
    if session.scalar(select(orm.Backend).where(orm.Backend.slug == body.slug)):
        raise ProblemError(409, f"the backend {body.slug} exists already")
    backend = orm.Backend(slug=body.slug, name=body.name, log_policy=body.log_policy)
    session.add(backend)
    record(session, caller.name, "backend.create", backend, after=body.model_dump(mode="json"))
    session.commit()
    return backend


def update_backend(
    session: Session, caller: Caller, slug: str, body: schema.BackendUpdate
) -> orm.Backend:
    caller.require(P.BACKEND_MANAGE)
    row = backend_named(session, slug)
    before = snapshot(row, "name", "log_policy")
    for field, value in body.model_dump(exclude_unset=True, mode="json").items():
        if value is not None:
            setattr(row, field, value)
    record(session, caller.name, "backend.update", row, before, snapshot(row, *before))
    session.commit()
    return row


def issue_runner_token(session: Session, backend: orm.Backend) -> str:
    """A new runner token for `backend`; earlier ones are revoked. Only its hash is kept, so
    this is the one time it is seen. Not committed: the caller audits and commits."""
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


def rotate_runner_token(session: Session, caller: Caller, slug: str) -> tuple[orm.Backend, str]:
    """The backend and its new runner token (earlier ones stop working)."""
    caller.require(P.BACKEND_MANAGE)
    row = backend_named(session, slug)
    token = issue_runner_token(session, row)
    record(session, caller.name, "backend.token.rotate", row)
    session.commit()
    return row, token


def set_up_backend(
    session: Session, actor: str, org: str, slug: str, name: str, log_policy: str
) -> str:
    """The command line's one step: the backend (made if new), usable by `org`, with a new
    runner token, which is returned (printed once)."""
    owner = session.scalar(select(orm.Org).where(orm.Org.slug == org))
    if owner is None:
        raise ProblemError(404, f"there is no organisation {org!r}: give --org=SLUG of one")
    backend = session.scalar(select(orm.Backend).where(orm.Backend.slug == slug))
    if backend is None:
        backend = orm.Backend(slug=slug, name=name, log_policy=log_policy)
        session.add(backend)
        session.flush()
    if backend not in owner.backends:
        owner.backends.append(backend)
    token = issue_runner_token(session, backend)
    record(session, actor, "backend.token.rotate", backend, after={"org": owner.slug})
    session.commit()
    return token
