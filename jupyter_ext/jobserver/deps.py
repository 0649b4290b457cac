"""FastAPI dependencies: the database session, who is calling, and the permission check.

Callers prove who they are with `Authorization: Bearer <token>`: a personal API
token (a user) or a runner token (a backend). Inside JupyterHub, a hub
authenticator set on the app resolves the hub's own credentials to a user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from . import orm
from .audit import record
from .callers import Caller
from .errors import ProblemError
from .permissions import PROJECT_SCOPED, Permission
from .security import token_hash

BEARER = {"WWW-Authenticate": "Bearer"}
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


def get_session(request: Request) -> Iterator[Session]:
    with request.app.state.sessionmaker() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() in ("bearer", "token") and credential.strip():
        return credential.strip()
    return None


def _note_use(session: Session, token_id: int, now: dt.datetime) -> None:
    """Record when a token was last used: best effort, one short write of its own.

    The read that found the token ends first, so the write never has to upgrade a
    read snapshot (which SQLite refuses under concurrent writers); when many requests
    race to note the same use, one wins and the others change nothing.
    """
    session.commit()
    try:
        session.execute(
            update(orm.ApiToken)
            .where(orm.ApiToken.id == token_id)
            .where(
                or_(
                    orm.ApiToken.last_used_at.is_(None),
                    orm.ApiToken.last_used_at < now - LAST_USED_RESOLUTION,
                )
            )
            .values(last_used_at=now)
        )
        session.commit()
    except OperationalError:
        session.rollback()


def current_caller(request: Request, session: SessionDep) -> Caller:
    return resolve_caller(request, session)


def resolve_caller(request: Request, session: Session, fresh: bool = False) -> Caller:
    """Who sent `request`, or a 401; `fresh` asks the hub again rather than its cached answer
    (a live stream re-checks its caller this way)."""
    token = _bearer(request)
    now = orm.utcnow()
    hub = getattr(request.app.state, "hub_auth", None)
    if token is not None:
        row = session.scalar(select(orm.ApiToken).where(orm.ApiToken.hash == token_hash(token)))
        if row is None and hub is not None and (username := hub.username_for(token, fresh)):
            return Caller(_hub_user(session, username), session)
        if row is None or row.revoked_at is not None:
            raise ProblemError(401, "the API token is not valid: create a new one", headers=BEARER)
        if row.expires_at is not None and row.expires_at <= now:
            raise ProblemError(401, "the API token has expired: create a new one", headers=BEARER)
        if row.scope == "read" and request.method not in ("GET", "HEAD"):
            raise ProblemError(403, "this API token may only read: use one with scope write")
        if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
            _note_use(session, row.id, now)
        # give the connection back before the next dependency runs, in another thread:
        # holding it there while the thread pool is full of requests waiting for
        # connections would starve both pools
        session.commit()
        return Caller(row.user, session)
    browser = getattr(request.app.state, "browser_auth", None)
    if browser is not None and request.method in ("GET", "HEAD"):  # a cookie only reads
        signed_in = browser.signed_in(request, session, fresh)
        session.commit()  # as above: no connection held between dependencies
        if signed_in is not None:
            return Caller(signed_in.user, session)
    raise ProblemError(401, "sign in: send `Authorization: Bearer <API token>`", headers=BEARER)


def _hub_user(session: Session, username: str) -> orm.User:
    """The job server's user for a hub user: added on first sight, with no role."""
    user = session.scalar(select(orm.User).where(orm.User.username == username))
    if user is None:
        user = orm.User(username=username, roles=[])
        session.add(user)
        record(session, "hub", "user.create", user, after={"roles": []})
        try:
            session.commit()
        except IntegrityError:  # another request added them first
            session.rollback()
            user = session.scalar(select(orm.User).where(orm.User.username == username))
    session.commit()  # as above: no connection held between dependencies
    return user


CallerDep = Annotated[Caller, Depends(current_caller)]


def current_backend(request: Request, session: SessionDep) -> orm.Backend:
    """A runner, known by its backend's runner token."""
    token = _bearer(request)
    row = (
        session.scalar(select(orm.RunnerToken).where(orm.RunnerToken.hash == token_hash(token)))
        if token
        else None
    )
    if row is None or row.revoked_at is not None:
        raise ProblemError(
            401,
            "runners must send their backend's runner token as a Bearer token",
            headers=BEARER,
        )
    return row.backend


BackendDep = Annotated[orm.Backend, Depends(current_backend)]


SCOPES = ("global", "project", "owner", "self")


def requires(
    permission: Permission, scope: str = "global", *, also: Permission | None = None
) -> Any:
    """The caller of a route, bound to the permission the route asks: declared and enforced.

    The dependency is the declaration (`declare_permissions` copies it into the route's
    OpenAPI entry, which the permission walk reads) and the enforcement: a "global"
    permission is checked at once; a "project" one when the domain has found the project
    (`caller.require(permission, project)`); an "owner" route checks, on top, that the caller
    made the thing (a global permission at once, a project one in the thing's project); a
    "self" one is asked unless the user the route names is the caller. `also` names the one
    permission the domain may grant instead (released things to those with release_view);
    requiring any other permission through this caller is refused.
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, not {scope!r}")

    def bound_caller(request: Request, caller: CallerDep) -> Caller:
        key = (request.method, request.scope["endpoint"])  # one per route, however mounted
        caller.declared, caller.also = permission, also
        caller.enforced = request.app.state.enforced.setdefault(key, set())
        owned = scope == "owner" and permission in PROJECT_SCOPED
        if scope not in ("project", "self") and not owned:
            caller.require(permission)
        return caller

    bound_caller.permission, bound_caller.scope, bound_caller.also = permission, scope, also
    return Depends(bound_caller)


RUNNER_ONLY = {"x-permission": "runner_token", "x-scope": "runner"}


def declared_permission(route: Any) -> dict[str, str] | None:
    """What a route's dependencies declare: a permission and scope, or a runner's token."""
    pending = list(route.dependant.dependencies)
    while pending:
        dependency = pending.pop()
        if hasattr(dependency.call, "permission"):
            declared = {
                "x-permission": dependency.call.permission.value,
                "x-scope": dependency.call.scope,
            }
            if dependency.call.also is not None:
                declared["x-also"] = dependency.call.also.value
            return declared
        if dependency.call is current_backend:
            return dict(RUNNER_ONLY)
        pending.extend(dependency.dependencies)
    if (route.openapi_extra or {}).get("x-permission") == RUNNER_ONLY["x-permission"]:
        return dict(RUNNER_ONLY)  # a runner's route that finds its backend itself
    return None


def declare_permissions(app: Any) -> None:
    """Every API route's OpenAPI entry names what its dependencies enforce (see `requires`)."""
    app.state.enforced = {}
    pending = list(app.routes)
    while pending:
        route = pending.pop()
        if (included := getattr(route, "original_router", None)) is not None:
            pending.extend(included.routes)  # FastAPI keeps an included router whole
            continue
        if getattr(route, "dependant", None) is None:
            continue
        if (declared := declared_permission(route)) is not None:
            route.openapi_extra = {**(route.openapi_extra or {}), **declared}
