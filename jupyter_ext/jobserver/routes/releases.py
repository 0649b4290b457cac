"""Release requests: asked for, seen, withdrawn, published (the rules: `services/releases.py`).

A file is frozen at the sha256 its job recorded, and the backend's pre-release rules judge
it before any checker is asked. Output checkers review each file (`reviews.py`); an output
publisher, never the author, publishes the approved ones; only then does the backend's
runner upload them (`file_uploads.py`), and they are served from `released_files.py`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from ... import schema
from .. import release_views
from ..callers import Caller
from ..deps import SessionDep, requires
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..services import releases

router = APIRouter(tags=["releases"])


def _view(request: Request, caller: Caller, row) -> schema.Release:
    return release_views.release(caller, row, request.app.state.settings.required_approvals)


@router.post("/releases", status_code=201)
def request_release(
    body: schema.ReleaseCreate,
    request: Request,
    caller: Annotated[Caller, requires(P.RELEASE_REQUEST, "project")],
    session: SessionDep,
) -> schema.Release:
    row = releases.request_release(session, caller, body, request.app.state.notifier)
    return _view(request, caller, row)


@router.get("/releases")
def list_releases(
    request: Request,
    caller: Annotated[Caller, requires(P.SIGNED_IN)],
    session: SessionDep,
    workspace: str | None = None,
    backend: str | None = Query(None, description="Releases of what leaves this site."),
    state: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.Release]:
    before = decode_cursor(cursor, str)
    rows = releases.list_releases(
        session,
        caller,
        workspace=workspace,
        backend=backend,
        state=state,
        limit=limit,
        before=before,
    )
    items, next_url = page(request, rows, limit, lambda r: r.id)
    return schema.Page(
        items=[_view(request, caller, r) for r in items if releases.can_see(caller, r)],
        next=next_url,
    )


@router.get("/releases/{release_id}")
def get_release(
    release_id: str,
    request: Request,
    caller: Annotated[Caller, requires(P.OUTPUTS_VIEW_UNRELEASED, "project", also=P.RELEASE_VIEW)],
    session: SessionDep,
) -> schema.Release:
    return _view(request, caller, releases.get_release(session, caller, release_id))


@router.post("/releases/{release_id}/withdraw")
def withdraw(
    release_id: str,
    request: Request,
    caller: Annotated[Caller, requires(P.RELEASE_REQUEST, "owner")],
    session: SessionDep,
) -> schema.Release:
    """The author takes the request back: nothing of it will be published."""
    row = releases.withdraw(session, caller, release_id, request.app.state.notifier)
    return _view(request, caller, row)


@router.post("/releases/{release_id}/publish")
def publish(
    release_id: str,
    request: Request,
    caller: Annotated[Caller, requires(P.RELEASE_PUBLISH, "project")],
    session: SessionDep,
) -> schema.Release:
    """Release the approved files: the backend's runner is then asked to upload them."""
    required = request.app.state.settings.required_approvals
    row = releases.publish(session, caller, release_id, required, request.app.state.notifier)
    return _view(request, caller, row)
