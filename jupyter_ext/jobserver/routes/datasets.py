"""Datasets at a backend, which projects may use them, and their dummy data (the rules:
`services/datasets.py`, `services/access_requests.py`).

A backend's runner registers a dataset (only its manifest leaves the site); a new manifest
is a new version, the old ones kept. A project asks to use a dataset with a purpose; a
Governance Reviewer, never the one who asked, approves (perhaps until a day) or rejects,
and may revoke. Dummy data is the one part of a dataset whose bytes may leave its site:
anyone signed in may download them, as an attachment never sniffed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.requests import ClientDisconnect

from ... import schema
from .. import release_views
from ..callers import Caller
from ..deps import RUNNER_ONLY, BackendDep, SessionDep, current_backend, requires
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..services import access_requests, datasets
from ..serving import attachment

router = APIRouter(tags=["datasets"])
runner_router = APIRouter(prefix="/runner", tags=["runner"])


@runner_router.post("/datasets")
def register_dataset(
    body: schema.DatasetRegistration, backend: BackendDep, session: SessionDep
) -> schema.Dataset:
    """A dataset of the runner's backend, or a new version of it when its manifest changed."""
    return release_views.dataset(datasets.register_dataset(session, backend, body))


@runner_router.post("/datasets/{name}/retire")
def retire_dataset(name: str, backend: BackendDep, session: SessionDep) -> schema.Dataset:
    """No project may use it from now on; its versions and manifests stay on record."""
    return release_views.dataset(datasets.retire_dataset(session, backend, name))


@router.get("/datasets")
def list_datasets(
    caller: Annotated[Caller, requires(P.SIGNED_IN, also=P.PROJECT_VIEW)],
    session: SessionDep,
    backend: str | None = None,
    project: str | None = Query(None, description="Only those this project may use now."),
) -> list[schema.Dataset]:
    """Descriptions and manifests are for anyone signed in to find data by; using the data
    takes an approval."""
    rows = datasets.list_datasets(session, caller, backend=backend, project=project)
    return [release_views.dataset(d) for d in rows]


@router.get("/datasets/{backend}/{name}")
def get_dataset(
    backend: str,
    name: str,
    caller: Annotated[Caller, requires(P.SIGNED_IN)],
    session: SessionDep,
) -> schema.Dataset:
    return release_views.dataset(datasets.dataset_named(session, backend, name))


@router.post("/dataset-access", status_code=201)
def request_access(
    body: schema.AccessRequestCreate,
    caller: Annotated[Caller, requires(P.DATASET_REQUEST, "project")],
    session: SessionDep,
) -> schema.AccessRequest:
    return release_views.dataset_access(access_requests.request_access(session, caller, body))


@router.get("/dataset-access")
def list_access(
    request: Request,
    caller: Annotated[Caller, requires(P.SIGNED_IN)],
    session: SessionDep,
    project: str | None = None,
    state: schema.AccessState | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.AccessRequest]:
    """The requests of the projects one may see; every request for those who decide."""
    rows = access_requests.list_access(
        session,
        caller,
        project=project,
        state=state.value if state else None,
        limit=limit,
        before=decode_cursor(cursor, str),
    )
    items, next_url = page(request, rows, limit, lambda r: r.id)
    views = [release_views.dataset_access(r) for r in items]
    if state:  # an expired approval is stored as approved: it is told apart when read
        views = [v for v in views if v.state == state]
    return schema.Page(items=views, next=next_url)


@router.get("/dataset-access/{access_id}")
def get_access(
    access_id: str,
    caller: Annotated[Caller, requires(P.PROJECT_VIEW, "project")],
    session: SessionDep,
) -> schema.AccessRequest:
    return release_views.dataset_access(access_requests.get_access(session, caller, access_id))


def _decide(caller: Caller, session, access_id: str, new: str, body) -> schema.AccessRequest:
    row = access_requests.decide(session, caller, access_id, new, body)
    return release_views.dataset_access(row)


@router.post("/dataset-access/{access_id}/approve")
def approve_access(
    access_id: str,
    body: schema.AccessDecision,
    caller: Annotated[Caller, requires(P.DATASET_DECIDE)],
    session: SessionDep,
) -> schema.AccessRequest:
    return _decide(caller, session, access_id, "approved", body)


@router.post("/dataset-access/{access_id}/reject")
def reject_access(
    access_id: str,
    body: schema.AccessDecision,
    caller: Annotated[Caller, requires(P.DATASET_DECIDE)],
    session: SessionDep,
) -> schema.AccessRequest:
    return _decide(caller, session, access_id, "rejected", body)


@router.post("/dataset-access/{access_id}/revoke")
def revoke_access(
    access_id: str,
    body: schema.AccessDecision,
    caller: Annotated[Caller, requires(P.DATASET_DECIDE)],
    session: SessionDep,
) -> schema.AccessRequest:
    """From now on the project's jobs cannot read it; jobs waiting for it will not start."""
    return _decide(caller, session, access_id, "revoked", body)


@router.post("/dataset-access/{access_id}/withdraw")
def withdraw_access(
    access_id: str,
    caller: Annotated[Caller, requires(P.DATASET_REQUEST, "owner")],
    session: SessionDep,
) -> schema.AccessRequest:
    row = access_requests.withdraw_access(session, caller, access_id)
    return release_views.dataset_access(row)


# the PUT finds its backend itself, in the session of each step, so it says it is the runner's
@runner_router.put(
    "/datasets/{name}/versions/{version}/dummy/{path:path}",
    status_code=204,
    openapi_extra=RUNNER_ONLY,
)
async def upload_dummy(name: str, version: int, path: str, request: Request) -> Response:
    """A file of a version's dummy data, streamed; refused unless its bytes hash to the dummy
    manifest's sha256. Stored by that hash: a repeat reads nothing and changes nothing."""
    try:
        await datasets.receive_dummy(
            request.app.state.sessionmaker,
            lambda session: current_backend(request, session),
            name,
            version,
            path,
            request.stream(),
            request.app.state.settings.release_dir,
        )
    except ClientDisconnect:
        return Response(status_code=400)
    return Response(status_code=204)


@router.get("/datasets/{backend}/{name}/dummy/{path:path}")
def download_dummy(
    backend: str,
    name: str,
    path: str,
    request: Request,
    caller: Annotated[Caller, requires(P.SIGNED_IN)],
    session: SessionDep,
    version: int | None = Query(
        None, description="A version; the newest with dummy data if absent."
    ),
):
    """A file of a dataset's dummy data (synthetic, made to leave the site), as an attachment."""
    release_dir = request.app.state.settings.release_dir
    entry, stored = datasets.download_dummy(
        session, caller, backend, name, path, version, release_dir
    )
    return attachment(stored, entry.path)
