"""Released files (under /api/v2): one file, the whole release as a zip, delete and restore.

Files are served so that nothing in them can run in the page (`serving.py`); every view
and download is an audit event; a deleted file is kept, so an administrator can put it
back (the rules: `services/released_files.py`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ..callers import Caller
from ..deps import SessionDep, requires
from ..permissions import Permission as P
from ..release_store import zip_stream
from ..services import released_files
from ..serving import SANDBOXED, sandboxed_file

router = APIRouter(tags=["releases"])


@router.get("/releases/file/{file_id}")
def released_file(
    file_id: str,
    request: Request,
    caller: Annotated[Caller, requires(P.RELEASE_VIEW, "project")],
    session: SessionDep,
):
    """A released file, served so nothing in it can run: sandboxed, never sniffed."""
    release_dir = request.app.state.settings.release_dir
    row, path = released_files.view_file(session, caller, file_id, release_dir)
    return sandboxed_file(path, row.path)


@router.delete("/releases/file/{file_id}")
def delete_released_file(
    file_id: str,
    caller: Annotated[Caller, requires(P.RELEASE_DELETE, "project")],
    session: SessionDep,
) -> dict:
    """Take a released file down. Its bytes stay, so an administrator can restore it."""
    row = released_files.delete_file(session, caller, file_id)
    return {"id": row.id, "deleted": True}


@router.post("/releases/file/{file_id}/restore")
def restore_released_file(
    file_id: str, caller: Annotated[Caller, requires(P.RELEASE_RESTORE)], session: SessionDep
) -> dict:
    row = released_files.restore_file(session, caller, file_id)
    return {"id": row.id, "deleted": False}


@router.get("/releases/{release_id}/zip")
def released_zip(
    release_id: str,
    request: Request,
    caller: Annotated[Caller, requires(P.RELEASE_VIEW, "project")],
    session: SessionDep,
):
    """The release's released and uploaded files as one zip, streamed as it is written.

    Each file is audited as a download (one `release_file.download` row per file, naming
    the release), before the first byte goes out. The zip is stored, not deflated: deflating
    costs a server core per download (about 35 MB/s at level 6, 170 MB/s at level 1, for CSV
    text) while storing goes as fast as the disk, and the archive is only a container.
    """
    release_dir = request.app.state.settings.release_dir
    row, entries = released_files.zip_entries(session, caller, release_id, release_dir)
    headers = {"Content-Disposition": f'attachment; filename="release-{row.id}.zip"', **SANDBOXED}
    # a plain generator: Starlette runs each step in its thread pool, off the event loop
    return StreamingResponse(zip_stream(entries), media_type="application/zip", headers=headers)
