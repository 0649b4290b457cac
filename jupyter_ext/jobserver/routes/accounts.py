"""Users, their API tokens and their GitHub token: the API's face of `services.accounts`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from ... import schema
from .. import views
from ..callers import Caller
from ..deps import SessionDep, requires
from ..pagination import DEFAULT_LIMIT, INT32_MAX, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..services import accounts

router = APIRouter(tags=["accounts"])


@router.get("/me")
def me(caller: Annotated[Caller, requires(P.SIGNED_IN)]) -> schema.User:
    return views.user(accounts.me(caller))


@router.get("/users")
def list_users(
    request: Request,
    caller: Annotated[Caller, requires(P.USER_VIEW)],
    session: SessionDep,
    q: str | None = Query(None, description="Part of a username."),
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.User]:
    found = accounts.list_users(session, caller, q, decode_cursor(cursor, str), limit + 1)
    rows, next_url = page(request, found, limit, lambda u: u.username)
    return schema.Page(items=[views.user(u) for u in rows], next=next_url)


@router.post("/users", status_code=201)
def create_user(
    body: schema.UserCreate,
    caller: Annotated[Caller, requires(P.USER_MANAGE)],
    session: SessionDep,
) -> schema.User:
    return views.user(accounts.create_user(session, caller, body))


@router.get("/users/{username}")
def get_user(
    username: str, caller: Annotated[Caller, requires(P.USER_VIEW, "self")], session: SessionDep
) -> schema.User:
    return views.user(accounts.get_user(session, caller, username))


@router.patch("/users/{username}")
def update_user(
    username: str,
    body: schema.UserUpdate,
    caller: Annotated[Caller, requires(P.USER_MANAGE, "self")],
    session: SessionDep,
) -> schema.User:
    return views.user(accounts.update_user(session, caller, username, body))


@router.put("/me/github-token", status_code=204)
def set_github_token(
    body: schema.GitHubToken,
    request: Request,
    caller: Annotated[Caller, requires(P.SIGNED_IN)],
    session: SessionDep,
) -> Response:
    accounts.set_github_token(session, caller, request.app.state.vault, body.token)
    return Response(status_code=204)


@router.delete("/me/github-token", status_code=204)
def delete_github_token(
    caller: Annotated[Caller, requires(P.SIGNED_IN)], session: SessionDep
) -> Response:
    accounts.delete_github_token(session, caller)
    return Response(status_code=204)


@router.get("/me/tokens")
def list_tokens(
    caller: Annotated[Caller, requires(P.SIGNED_IN)], session: SessionDep
) -> list[schema.ApiToken]:
    return [views.api_token(t) for t in accounts.list_tokens(session, caller)]


@router.post("/me/tokens", status_code=201)
def create_token(
    body: schema.ApiTokenCreate,
    caller: Annotated[Caller, requires(P.SIGNED_IN)],
    session: SessionDep,
) -> schema.ApiTokenCreated:
    return accounts.create_api_token(
        session, caller.name, caller.user, body.name, body.expires_in_days, body.scope
    )


@router.delete("/me/tokens/{token_id}", status_code=204)
def revoke_token(
    token_id: Annotated[int, Path(ge=1, le=INT32_MAX)],
    caller: Annotated[Caller, requires(P.SIGNED_IN)],
    session: SessionDep,
) -> Response:
    accounts.revoke_token(session, caller, token_id)
    return Response(status_code=204)
