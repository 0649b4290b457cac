"""The people a site (backend) names to check, or publish, what leaves it.

Their roles hold for releases of that backend only (`permissions.SITE_SCOPED`), beside the
global output checkers and publishers, who hold everywhere. The two-person rules are the
same for both (`review.py`). Administrators name them: each change is audited.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...schema.states import SiteRole
from .. import orm
from ..audit import record
from ..callers import Caller
from ..errors import ProblemError
from ..permissions import Permission as P
from .lookup import backend_named, user_named


def site_roles(roles: Iterable[str]) -> list[str]:
    """The roles, each once, if a site may name people to them."""
    allowed = {r.value for r in SiteRole}
    if wrong := [r for r in roles if r not in allowed]:
        raise ProblemError(
            422,
            f"a site names people to {' or '.join(sorted(allowed))} only, not {wrong[0]!r}",
        )
    if not (chosen := sorted(set(roles))):
        raise ProblemError(422, "give at least one role: output_checker or output_publisher")
    return chosen


def list_site_members(session: Session, caller: Caller, backend: str) -> list[orm.BackendMember]:
    caller.require(P.BACKEND_VIEW_ALL)
    row = backend_named(session, backend)
    query = select(orm.BackendMember).where(orm.BackendMember.backend_id == row.id)
    return sorted(session.scalars(query), key=lambda m: m.user.username)


def name_site_member(
    session: Session, actor: str, backend: str, username: str, roles: Iterable[str]
) -> orm.BackendMember:
    """`username` checks (or publishes) what leaves `backend`, with exactly `roles`."""
    row, user = backend_named(session, backend), user_named(session, username)
    chosen = site_roles(roles)
    member = session.get(orm.BackendMember, (row.id, user.id))
    before = {"roles": list(member.roles)} if member else None
    if member is None:
        member = orm.BackendMember(backend_id=row.id, user_id=user.id)
        member.backend, member.user = row, user
        session.add(member)
    member.roles = chosen
    record(session, actor, "backend.member.set", row, before, {"user": username, "roles": chosen})
    session.commit()
    return member


def set_site_member(
    session: Session, caller: Caller, backend: str, username: str, roles: Iterable[str]
) -> orm.BackendMember:
    caller.require(P.BACKEND_MANAGE)
    return name_site_member(session, caller.name, backend, username, roles)


def unname_site_member(session: Session, actor: str, backend: str, username: str) -> None:
    """`username` no longer checks or publishes what leaves `backend` (global roles stay)."""
    row, user = backend_named(session, backend), user_named(session, username)
    member = session.get(orm.BackendMember, (row.id, user.id))
    if member is None:
        raise ProblemError(404, f"{username} holds no role at {backend}")
    before = {"user": username, "roles": list(member.roles)}
    session.delete(member)
    record(session, actor, "backend.member.remove", row, before, None)
    session.commit()


def remove_site_member(session: Session, caller: Caller, backend: str, username: str) -> None:
    caller.require(P.BACKEND_MANAGE)
    unname_site_member(session, caller.name, backend, username)
