"""Released files: one file, the whole release as a zip, delete and restore.

Every view and download is an audit event. A deleted file is kept, so an administrator can
put it back. How the bytes are served (sandboxed, never sniffed) is `serving.py`'s.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.orm import Session

from .. import orm
from ..audit import record
from ..callers import Caller
from ..errors import ProblemError
from ..permissions import Permission as P
from ..release_store import entry_names, stored_path


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


def view_file(
    session: Session, caller: Caller, file_id: str, release_dir: str, page: bool = False
) -> tuple[orm.ReleaseFile, Path]:
    """A released and uploaded file and where its bytes are, the view audited (`page`: shown
    in the release's page rather than downloaded)."""
    row = _file(session, file_id)
    caller.require(P.RELEASE_VIEW, row.release.workspace.project, row.release.backend)
    if row.deleted_at is not None:
        raise _gone(row)
    if row.state != "released" or row.uploaded_at is None:
        raise ProblemError(409, "the file is not released yet, or its backend has not sent it")
    record(session, caller.name, "release_file.view", row, after={"page": True} if page else None)
    session.commit()
    return row, stored_path(release_dir, row.sha256)


def delete_file(session: Session, caller: Caller, file_id: str) -> orm.ReleaseFile:
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
    return row


def restore_file(session: Session, caller: Caller, file_id: str) -> orm.ReleaseFile:
    row = _file(session, file_id)
    caller.require(P.RELEASE_RESTORE)
    if row.deleted_at is None:
        raise ProblemError(409, f"{row.path} is not deleted: nothing to restore")
    row.deleted_at, row.deleted_by_id = None, None
    record(session, caller.name, "release_file.restore", row, {"deleted": True}, {"deleted": False})
    session.commit()
    return row


def zip_entries(
    session: Session, caller: Caller, release_id: str, release_dir: str
) -> tuple[orm.Release, list[tuple[str, Path, tuple[int, ...]]]]:
    """The release's released and uploaded files as zip entries (name, stored bytes, time).

    Each file is audited as a download (one `release_file.download` row per file, naming
    the release), before the first byte goes out; missing bytes are found here, not
    half-way through the stream.
    """
    row = session.get(orm.Release, release_id)
    if row is None:
        raise ProblemError(404, f"there is no release {release_id!r}")
    caller.require(P.RELEASE_VIEW, row.workspace.project, row.backend)
    files = [
        f
        for f in row.files
        if f.state == "released" and f.uploaded_at is not None and f.deleted_at is None
    ]
    if row.state != "released" or not files:
        raise ProblemError(
            409, "the release is not released yet, or its backend has sent none of its files"
        )
    names = entry_names(files)
    entries = [
        (names[f.id], stored_path(release_dir, f.sha256), f.uploaded_at.timetuple()[:6])
        for f in files
    ]
    missing = [name for name, path, _ in entries if not path.is_file()]
    if missing:
        raise ProblemError(
            503,
            f"the stored bytes of {', '.join(missing)} are missing on the "
            "job server: an administrator must restore them",
        )
    for f in files:
        record(session, caller.name, "release_file.download", f, after={"zip": row.id})
    session.commit()
    return row, entries
