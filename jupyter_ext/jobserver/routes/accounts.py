"""Users, their API tokens and their GitHub token."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import schema
from .. import orm, views
from ..audit import record
from ..deps import CallerDep, SessionDep, permission
from ..errors import ProblemError
from ..pagination import DEFAULT_LIMIT, INT32_MAX, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..security import new_token, token_hash, token_prefix
from ._common import snapshot, user_named

router = APIRouter(tags=["accounts"])


@router.get("/me", openapi_extra=permission(P.SIGNED_IN))
def me(caller: CallerDep) -> schema.User:
    return views.user(caller.user)


@router.get("/users", openapi_extra=permission(P.USER_VIEW))
def list_users(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    q: str | None = Query(None, description="Part of a username."),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.User]:
    caller.require(P.USER_VIEW)
    query = select(orm.User).order_by(orm.User.username)
    if q:
        query = query.where(orm.User.username.contains(q))
    if (after := decode_cursor(cursor, str)) is not None:
        query = query.where(orm.User.username > after)
    rows, next_url = page(
        request, session.scalars(query.limit(limit + 1)).all(), limit, lambda u: u.username
    )
    return schema.Page(items=[views.user(u) for u in rows], next=next_url)


@router.post("/users", status_code=201, openapi_extra=permission(P.USER_MANAGE))
def create_user(body: schema.UserCreate, caller: CallerDep, session: SessionDep) -> schema.User:
    caller.require(P.USER_MANAGE)
    if session.scalar(select(orm.User).where(orm.User.username == body.username)):
        raise ProblemError(409, f"the user {body.username} exists already")
    user = orm.User(
        username=body.username,
        fullname=body.fullname,
        email=body.email or "",
        roles=sorted(set(body.roles)),
    )
    session.add(user)
    record(session, caller.name, "user.create", user, after=body.model_dump(mode="json"))
    session.commit()
    return views.user(user)


@router.get("/users/{username}", openapi_extra=permission(P.USER_VIEW))
def get_user(username: str, caller: CallerDep, session: SessionDep) -> schema.User:
    if username != caller.name:
        caller.require(P.USER_VIEW)
    return views.user(user_named(session, username))


@router.patch("/users/{username}", openapi_extra=permission(P.USER_MANAGE))
def update_user(
    username: str, body: schema.UserUpdate, caller: CallerDep, session: SessionDep
) -> schema.User:
    user = user_named(session, username)
    if body.roles is not None or username != caller.name:
        caller.require(P.USER_MANAGE)  # global roles only by an administrator
    before = snapshot(user, "fullname", "email", "roles")
    for field, value in body.model_dump(exclude_unset=True).items():
        setattr(user, field, sorted(set(value)) if field == "roles" else (value or ""))
    record(session, caller.name, "user.update", user, before, snapshot(user, *before))
    session.commit()
    return views.user(user)


@router.put("/me/github-token", status_code=204, openapi_extra=permission(P.SIGNED_IN))
def set_github_token(
    body: schema.GitHubToken, request: Request, caller: CallerDep, session: SessionDep
) -> Response:
    caller.user.github_token = request.app.state.vault.encrypt(body.token)
    record(session, caller.name, "user.github_token.set", caller.user)
    session.commit()
    return Response(status_code=204)


@router.delete("/me/github-token", status_code=204, openapi_extra=permission(P.SIGNED_IN))
def delete_github_token(caller: CallerDep, session: SessionDep) -> Response:
    caller.user.github_token = None
    record(session, caller.name, "user.github_token.delete", caller.user)
    session.commit()
    return Response(status_code=204)


@router.get("/me/tokens", openapi_extra=permission(P.SIGNED_IN))
def list_tokens(caller: CallerDep, session: SessionDep) -> list[schema.ApiToken]:
    rows = session.scalars(
        select(orm.ApiToken)
        .where(orm.ApiToken.user_id == caller.user.id, orm.ApiToken.revoked_at.is_(None))
        .order_by(orm.ApiToken.id)
    )
    return [views.api_token(t) for t in rows]


def issue_api_token(
    session: Session,
    user: orm.User,
    name: str,
    expires_in_days: int | None = None,
    scope: str = "write",
) -> schema.ApiTokenCreated:
    """Make an API token; only its hash is kept, so this is the one time it is seen."""
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


@router.post("/me/tokens", status_code=201, openapi_extra=permission(P.SIGNED_IN))
def create_token(
    body: schema.ApiTokenCreate, caller: CallerDep, session: SessionDep
) -> schema.ApiTokenCreated:
    created = issue_api_token(session, caller.user, body.name, body.expires_in_days, body.scope)
    record(session, caller.name, "api_token.create", caller.user, after={"name": body.name})
    session.commit()
    return created


@router.delete("/me/tokens/{token_id}", status_code=204, openapi_extra=permission(P.SIGNED_IN))
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=INT32_MAX)], caller: CallerDep, session: SessionDep
) -> Response:
    row = session.get(orm.ApiToken, token_id)
    if row is None or row.user_id != caller.user.id or row.revoked_at is not None:
        raise ProblemError(404, f"you have no token {token_id}")
    row.revoked_at = orm.utcnow()
    record(session, caller.name, "api_token.revoke", caller.user, after={"token": token_id})
    session.commit()
    return Response(status_code=204)
