"""Users, their global roles, their API tokens and their GitHub token.

Global roles are set only by an administrator; anyone changes their own name and address.
Tokens are made here and seen once: only their hashes are kept. The command line (which owns
the database) calls `add_user` and `create_api_token` with its own name as the actor.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import schema
from .. import orm, views
from ..audit import record
from ..callers import Caller
from ..errors import ProblemError
from ..permissions import Permission as P
from ..security import Vault, new_token, token_hash, token_prefix
from .lookup import snapshot, user_named


def me(caller: Caller) -> orm.User:
    return caller.user


def list_users(
    session: Session,
    caller: Caller,
    q: str | None = None,
    after: str | None = None,
    limit: int = 100,
) -> list[orm.User]:
    """Up to `limit` users by username (those whose name holds `q`), after `after`."""
    caller.require(P.USER_VIEW)
    query = select(orm.User).order_by(orm.User.username)
    if q:
        query = query.where(orm.User.username.contains(q))
    if after is not None:
        query = query.where(orm.User.username > after)
    return list(session.scalars(query.limit(limit)))


def add_user(
    session: Session,
    actor: str,
    username: str,
    roles: Iterable[str] = (),
    email: str = "",
    fullname: str = "",
    audit: dict | None = None,
) -> orm.User:
    """A new user with global roles, committed; the audit event's after is `audit` (default:
    the roles)."""
    if session.scalar(select(orm.User).where(orm.User.username == username)):
        raise ProblemError(409, f"the user {username} exists already")
    user = orm.User(username=username, fullname=fullname, email=email, roles=sorted(set(roles)))
    session.add(user)
    record(session, actor, "user.create", user, after=audit or {"roles": user.roles})
    session.commit()
    return user


def create_user(session: Session, caller: Caller, body: schema.UserCreate) -> orm.User:
    caller.require(P.USER_MANAGE)
    return add_user(
        session,
        caller.name,
        body.username,
        roles=body.roles,
        email=body.email or "",
        fullname=body.fullname,
        audit=body.model_dump(mode="json"),
    )


def get_user(session: Session, caller: Caller, username: str) -> orm.User:
    """Anyone sees themselves; others only those who may see users."""
    if username != caller.name:
        caller.require(P.USER_VIEW)
    return user_named(session, username)


def update_user(
    session: Session, caller: Caller, username: str, body: schema.UserUpdate
) -> orm.User:
    """Anyone changes their own name and address; global roles (and anyone else) only an
    administrator."""
    user = user_named(session, username)
    if body.roles is not None or username != caller.name:
        caller.require(P.USER_MANAGE)
    before = snapshot(user, "fullname", "email", "roles")
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(user, field, sorted(set(value)) if field == "roles" else (value or ""))
    record(session, caller.name, "user.update", user, before, snapshot(user, *before))
    session.commit()
    return user


def set_github_token(session: Session, caller: Caller, vault: Vault, token: str) -> None:
    """The caller's GitHub token, kept encrypted by `vault`, never shown again."""
    caller.user.github_token = vault.encrypt(token)
    record(session, caller.name, "user.github_token.set", caller.user)
    session.commit()


def delete_github_token(session: Session, caller: Caller) -> None:
    caller.user.github_token = None
    record(session, caller.name, "user.github_token.delete", caller.user)
    session.commit()


def list_tokens(session: Session, caller: Caller) -> list[orm.ApiToken]:
    """The caller's API tokens that are not revoked."""
    return list(
        session.scalars(
            select(orm.ApiToken)
            .where(orm.ApiToken.user_id == caller.user.id, orm.ApiToken.revoked_at.is_(None))
            .order_by(orm.ApiToken.id)
        )
    )


def issue_api_token(
    session: Session,
    user: orm.User,
    name: str,
    expires_in_days: int | None = None,
    scope: str = "write",
) -> schema.ApiTokenCreated:
    """Make an API token; only its hash is kept, so this is the one time it is seen. Not
    committed: `create_api_token` audits and commits (a test world calls this alone)."""
    token = new_token("jxa")
    expires = orm.utcnow() + dt.timedelta(days=expires_in_days) if expires_in_days else None
    row = orm.ApiToken(
        user_id=user.id,
        name=name,
        prefix=token_prefix(token),
        hash=token_hash(token),
        expires_at=expires,
        scope=scope,
    )
    session.add(row)
    session.flush()
    return schema.ApiTokenCreated(**views.api_token(row).model_dump(), token=token)


def create_api_token(
    session: Session,
    actor: str,
    user: orm.User,
    name: str,
    expires_in_days: int | None = None,
    scope: str = "write",
) -> schema.ApiTokenCreated:
    """A new API token of `user` by `actor` (the user themselves, or the command line)."""
    created = issue_api_token(session, user, name, expires_in_days, scope)
    record(session, actor, "api_token.create", user, after={"name": name})
    session.commit()
    return created


def revoke_token(session: Session, caller: Caller, token_id: int) -> None:
    """Revoke one of the caller's own tokens; anyone else's is a 404, as if it were not."""
    row = session.get(orm.ApiToken, token_id)
    if row is None or row.user_id != caller.user.id or row.revoked_at is not None:
        raise ProblemError(404, f"you have no token {token_id}")
    row.revoked_at = orm.utcnow()
    record(session, caller.name, "api_token.revoke", caller.user, after={"token": token_id})
    session.commit()
