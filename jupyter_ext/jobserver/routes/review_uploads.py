"""The runner sends the bytes of a file under review, for its output checkers.

The same resumable protocol as published files (`runner.py`): GET says how many bytes the
job server holds, PUT goes on from there, and the whole must hash to the frozen sha256 or
it is refused and deleted. Only a file still under review is taken, and its bytes are
kept apart from released ones (`review_copies.py`); the site may refuse to send it.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect

from ... import schema
from .. import orm
from ..audit import record
from ..deps import BackendDep, SessionDep, current_backend
from ..errors import ProblemError
from ..events import emit_release
from ..review_copies import review_partial, review_path, under_review
from ..upload_leases import holding
from .runner import RUNNER_ONLY, _held, _receive, _sha256, _start

router = APIRouter(prefix="/runner", tags=["runner"])


def _review_file(session: Session, backend: orm.Backend, file_id: str) -> orm.ReleaseFile:
    row = session.get(orm.ReleaseFile, file_id)
    if row is None or row.release.backend_id != backend.id:
        raise ProblemError(404, f"the backend {backend.slug} has no release file {file_id!r}")
    if not under_review(row):
        raise ProblemError(409, "the file is not under review: it is not sent for review")
    return row


def _release_dir(request: Request) -> str:
    return request.app.state.settings.release_dir


@router.get("/review-files/{file_id}", openapi_extra=RUNNER_ONLY)
def review_file_state(
    file_id: str, request: Request, backend: BackendDep, session: SessionDep
) -> schema.ReleaseFileState:
    """How much of the review copy the server holds, so that an upload goes on from there."""
    row = _review_file(session, backend, file_id)
    uploaded = row.review_uploaded_at is not None
    received = _held(review_partial(_release_dir(request), file_id), row.size, uploaded)
    return schema.ReleaseFileState(
        received=received, size=row.size, sha256=row.sha256, uploaded=uploaded
    )


@router.post("/review-files/{file_id}/refusal", status_code=204, openapi_extra=RUNNER_ONLY)
def refuse_review_file(
    file_id: str, body: schema.UploadRefusal, backend: BackendDep, session: SessionDep
) -> Response:
    """The site will not send this file for review (it changed since it was frozen, or its
    rules refuse it): kept with its reason for the checkers to see, audited, not asked again."""
    row = _review_file(session, backend, file_id)
    if row.review_uploaded_at is not None:
        raise ProblemError(409, "the file has been sent for review already")
    if row.review_refused is None:
        row.review_refused = body.reason
        record(
            session,
            f"runner:{backend.slug}",
            "release_file.review_upload_refused",
            row,
            {"review_refused": None},
            {"review_refused": body.reason},
        )
        emit_release(session, row.release)
        session.commit()
    return Response(status_code=204)


def _frozen(request: Request, file_id: str) -> tuple[str, int, bool]:
    """The file's frozen sha256 and size, and whether its review copy has come."""
    with request.app.state.sessionmaker() as session:
        row = _review_file(session, current_backend(request, session), file_id)
        if row.review_refused is not None:
            raise ProblemError(409, f"the site refused to send this file ({row.review_refused})")
        return row.sha256, row.size, row.review_uploaded_at is not None


def _refused(request: Request, file_id: str, received: int, sha256: str | None) -> None:
    with request.app.state.sessionmaker() as session:
        backend = current_backend(request, session)
        row = session.get(orm.ReleaseFile, file_id)
        after = {"received_bytes": received, "sha256": sha256}
        record(
            session,
            f"runner:{backend.slug}",
            "release_file.review_upload.refused",
            row,
            after=after,
        )
        session.commit()


def _store(request: Request, file_id: str, partial: Path, sha256: str) -> None:
    """Move the checked bytes into the review store, and record that the copy has come."""
    target = review_path(_release_dir(request), sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, target)
    with request.app.state.sessionmaker() as session:
        backend = current_backend(request, session)
        row = session.get(orm.ReleaseFile, file_id)
        if row.review_uploaded_at is None:
            row.review_uploaded_at = orm.utcnow()
            record(
                session,
                f"runner:{backend.slug}",
                "release_file.review_upload",
                row,
                after={"sha256": sha256},
            )
            emit_release(session, row.release)
            session.commit()


@router.put("/review-files/{file_id}", status_code=204, openapi_extra=RUNNER_ONLY)
async def upload_review_file(file_id: str, request: Request) -> Response:
    """The bytes of a file under review, streamed; refused unless they hash to what was
    frozen (`Content-Range` goes on from the bytes held, as for published files)."""
    sha256, size, uploaded = await run_in_threadpool(_frozen, request, file_id)
    if uploaded:
        raise ProblemError(409, "the file has been sent for review already: it never changes")
    partial = review_partial(_release_dir(request), file_id)
    ttl = request.app.state.settings.upload_lease
    async with holding(request.app.state.sessionmaker, file_id, ttl) as held:
        if (await run_in_threadpool(_frozen, request, file_id))[2]:  # done while it waited
            raise ProblemError(409, "the file has been sent for review already")
        start = _start(request.headers.get("content-range"), _held(partial, size, False), size)
        try:
            received = await _receive(request, partial, start, size, held)
        except ClientDisconnect:  # cut short: what came stays, for the runner to go on from
            return Response(status_code=400)
        digest = await run_in_threadpool(_sha256, partial) if received == size else None
        await held.confirm()
        if digest != sha256:
            partial.unlink(missing_ok=True)
            await run_in_threadpool(_refused, request, file_id, received, digest)
            raise ProblemError(
                422,
                f"the upload does not match the frozen file ({size} bytes, "
                f"sha256 {sha256[:12]}…): the file changed on the site",
            )
        await run_in_threadpool(_store, request, file_id, partial, sha256)
    return Response(status_code=204)
