"""Released files (under /api/v2): one file, the whole release as a zip, delete and restore.

Files are served so that nothing in them can run in the page: the type from the recorded
name, `Content-Security-Policy: sandbox`, `nosniff`, and an attachment for anything not
viewable. Every view and download is an audit event. A deleted file is kept, so an
administrator can put it back.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy.orm import Session

from .. import orm
from ..audit import record
from ..deps import CallerDep, SessionDep, permission
from ..errors import ProblemError
from ..permissions import Permission as P
from ..release_store import entry_names, stored_path, zip_stream

router = APIRouter(tags=["releases"])
VIEWABLE = {".csv", ".txt", ".log", ".json", ".md", ".png", ".jpg", ".jpeg", ".svg", ".html"}
SANDBOXED = {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"}


def media_type(path: str) -> str:
    """The type a file is served as: from its recorded name only, never from its bytes."""
    return mimetypes.types_map.get(Path(path).suffix.lower(), "application/octet-stream")


def _file(session: Session, file_id: str) -> orm.ReleaseFile:
    row = session.get(orm.ReleaseFile, file_id)
    if row is None:
        raise ProblemError(404, f"there is no released file {file_id!r}")
    return row


def _gone(row: orm.ReleaseFile) -> ProblemError:
    who = row.deleted_by.username if row.deleted_by else "someone"
    return ProblemError(
        410,
        f"{row.path} was deleted by {who} on {row.deleted_at:%Y-%m-%d}; "
        "an administrator can restore it",
    )


@router.get("/releases/file/{file_id}", openapi_extra=permission(P.RELEASE_VIEW, "project"))
def released_file(file_id: str, request: Request, caller: CallerDep, session: SessionDep):
    """A released file, served so nothing in it can run: sandboxed, never sniffed."""
    row = _file(session, file_id)
    caller.require(P.RELEASE_VIEW, row.release.workspace.project)
    if row.deleted_at is not None:
        raise _gone(row)
    if row.state != "released" or row.uploaded_at is None:
        raise ProblemError(409, "the file is not released yet, or its backend has not sent it")
    record(session, caller.name, "release_file.view", row)
    session.commit()
    path = stored_path(request.app.state.settings.release_dir, row.sha256)
    suffix = Path(row.path).suffix.lower()
    return FileResponse(
        path,
        media_type=media_type(row.path),
        headers=SANDBOXED,
        filename=Path(row.path).name,
        content_disposition_type="inline" if suffix in VIEWABLE else "attachment",
    )


@router.delete("/releases/file/{file_id}", openapi_extra=permission(P.RELEASE_DELETE, "project"))
def delete_released_file(file_id: str, caller: CallerDep, session: SessionDep) -> dict:
    """Take a released file down. Its bytes stay, so an administrator can restore it."""
    row = _file(session, file_id)
    caller.require(P.RELEASE_DELETE, row.release.workspace.project)
    if row.state != "released":
        raise ProblemError(409, f"{row.path} is {row.state}, not released: nothing to delete")
    if row.deleted_at is not None:
        raise _gone(row)
    row.deleted_at, row.deleted_by_id = orm.utcnow(), caller.user.id
    record(session, caller.name, "release_file.delete", row, {"deleted": False}, {"deleted": True})
    session.commit()
    return {"id": row.id, "deleted": True}


@router.post("/releases/file/{file_id}/restore", openapi_extra=permission(P.RELEASE_RESTORE))
def restore_released_file(file_id: str, caller: CallerDep, session: SessionDep) -> dict:
    row = _file(session, file_id)
    caller.require(P.RELEASE_RESTORE)
    if row.deleted_at is None:
        raise ProblemError(409, f"{row.path} is not deleted: nothing to restore")
    row.deleted_at, row.deleted_by_id = None, None
    record(session, caller.name, "release_file.restore", row, {"deleted": True}, {"deleted": False})
    session.commit()
    return {"id": row.id, "deleted": False}


@router.get("/releases/{release_id}/zip", openapi_extra=permission(P.RELEASE_VIEW, "project"))
def released_zip(release_id: str, request: Request, caller: CallerDep, session: SessionDep):
    """The release's released and uploaded files as one zip, streamed as it is written.

    Each file is audited as a download (one `release_file.download` row per file, naming
    the release), before the first byte goes out. The zip is stored, not deflated: deflating
    costs a server core per download (about 35 MB/s at level 6, 170 MB/s at level 1, for CSV
    text) while storing goes as fast as the disk, and the archive is only a container.
    """
    row = session.get(orm.Release, release_id)
    if row is None:
        raise ProblemError(404, f"there is no release {release_id!r}")
    caller.require(P.RELEASE_VIEW, row.workspace.project)
    files = [
        f
        for f in row.files
        if f.state == "released" and f.uploaded_at is not None and f.deleted_at is None
    ]
    if row.state != "released" or not files:
        raise ProblemError(
            409, "the release is not released yet, or its backend has sent none of its files"
        )
    release_dir = request.app.state.settings.release_dir
    names = entry_names(files)
    entries = [
        (names[f.id], stored_path(release_dir, f.sha256), f.uploaded_at.timetuple()[:6])
        for f in files
    ]
    missing = [name for name, path, _ in entries if not path.is_file()]
    if missing:  # found before the first byte, not half-way through the stream
        raise ProblemError(
            503,
            f"the stored bytes of {', '.join(missing)} are missing on the "
            "job server: an administrator must restore them",
        )
    for f in files:
        record(session, caller.name, "release_file.download", f, after={"zip": row.id})
    session.commit()
    headers = {"Content-Disposition": f'attachment; filename="release-{row.id}.zip"', **SANDBOXED}
    # a plain generator: Starlette runs each step in its thread pool, off the event loop
    return StreamingResponse(zip_stream(entries), media_type="application/zip", headers=headers)
