"""The runner sends the bytes of a file the heartbeat asks for: a published file
(`/runner/release-files/{id}`) or one under review, for its output checkers
(`/runner/review-files/{id}`).

One flow, `file_uploads.py`, for both purposes; here are its three routes per purpose, made
by one function: GET says how many bytes the job server holds, PUT goes on from there
(`Content-Range`) and must hash to the frozen sha256, POST .../refusal is the site's no.
Their names (the OpenAPI operations) are the runner client's: `release_file_state`,
`refuse_release_file`, `upload_release_file`, and the same with `review`. Once a PUT has
kept a file, `release_differencing.py` compares the project's tables under review with
what it released (never failing the upload).
"""

from __future__ import annotations

import datetime as dt

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from ... import schema
from ..deps import RUNNER_ONLY, BackendDep, SessionDep, current_backend
from ..file_uploads import RELEASE, REVIEW, Purpose, progress, receive, refuse
from ..release_differencing import file_kept

router = APIRouter(prefix="/runner", tags=["runner"])


def _release_dir(request: Request) -> str:
    return request.app.state.settings.release_dir


def add_routes(purpose: Purpose, state_doc: str, refusal_doc: str, upload_doc: str) -> None:
    """GET, POST .../refusal and PUT of `/{purpose.name}-files/{file_id}`, in that order."""

    def state(
        file_id: str, request: Request, backend: BackendDep, session: SessionDep
    ) -> schema.ReleaseFileState:
        return progress(session, backend, file_id, purpose, _release_dir(request))

    def refusal(
        file_id: str, body: schema.UploadRefusal, backend: BackendDep, session: SessionDep
    ) -> Response:
        refuse(session, backend, file_id, body.reason, purpose)
        return Response(status_code=204)

    async def upload(file_id: str, request: Request) -> Response:
        settings = request.app.state.settings
        try:
            await receive(
                request.app.state.sessionmaker,
                lambda session: current_backend(request, session),
                file_id,
                purpose,
                request.stream(),
                request.headers.get("content-range"),
                settings.release_dir,
                dt.timedelta(seconds=settings.upload_lease_seconds),
            )
        except ClientDisconnect:  # cut short: what came stays, for the runner to go on from
            return Response(status_code=400)
        await run_in_threadpool(file_kept, request.app.state, purpose.name, file_id)
        return Response(status_code=204)

    path, name = f"/{purpose.name}-files/{{file_id}}", purpose.name
    for endpoint, method, where, operation, doc, status in (
        (state, "GET", path, f"{name}_file_state", state_doc, None),
        (refusal, "POST", f"{path}/refusal", f"refuse_{name}_file", refusal_doc, 204),
        (upload, "PUT", path, f"upload_{name}_file", upload_doc, 204),
    ):
        # the PUT finds its backend itself, in the session of each step, so it says so
        declared = {"openapi_extra": RUNNER_ONLY} if endpoint is upload else {}
        endpoint.__name__ = endpoint.__qualname__ = operation
        endpoint.__doc__ = doc
        router.add_api_route(
            where,
            endpoint,
            methods=[method],
            name=operation,
            **declared,
            **({"status_code": status} if status else {}),
        )


add_routes(
    RELEASE,
    "How much of the file the server holds, so that an interrupted upload goes on from there.",
    """The site will not send this published file (it changed since it was frozen, or the
    site's rules refuse it): kept with its reason, audited, and no longer asked for. A repeat
    changes nothing; the first reason stays.""",
    """The bytes of a published file, streamed; refused unless they hash to what was frozen.

    With `Content-Range: bytes START-END/SIZE` it goes on from the bytes held (see the GET);
    without, it starts over. Bytes of an interrupted PUT stay for the next one.""",
)
add_routes(
    REVIEW,
    "How much of the review copy the server holds, so that an upload goes on from there.",
    """The site will not send this file for review (it changed since it was frozen, or its
    rules refuse it): kept with its reason for the checkers to see, audited, not asked again.""",
    """The bytes of a file under review, streamed; refused unless they hash to what was
    frozen (`Content-Range` goes on from the bytes held, as for published files).""",
)
