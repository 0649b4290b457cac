"""Review copies: the frozen bytes of a file under review, sent by its site for the checkers.

Output checkers exist to read moderately sensitive outputs before anyone else may, so a
file asked for is sent by the site's runner while it can still be voted on (the heartbeat
lists it, the runner checks it against the site's own record and sends it, the job server
keeps it only if it hashes to the frozen sha256). The bytes live apart from released
files (`<release_dir>/review/`), are read only by those who may review the file (never
its author, nor any other member of the project: theirs is the copy on the site), are
served sandboxed like released files, and every read is an audit event.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import schema
from . import orm
from .callers import Caller
from .errors import ProblemError
from .permissions import Permission as P
from .states import RELEASE_ACTS

REVIEW_FOLDER = "review"  # under the release folder, which keeps released bytes by hash


def review_path(release_dir: str, sha256: str) -> Path:
    """Where the review copy of these bytes lives: by hash, apart from released bytes."""
    return Path(release_dir) / REVIEW_FOLDER / sha256[:2] / sha256


def review_partial(release_dir: str, file_id: str) -> Path:
    """Where the bytes of a review upload wait until the whole file has come."""
    return Path(release_dir) / REVIEW_FOLDER / "partial" / file_id


def under_review(row: orm.ReleaseFile) -> bool:
    """Whether the file can still be voted on (the review's own rule, `states.py`)."""
    release_states, file_states, _ = RELEASE_ACTS["vote"]
    return row.release.state in release_states and row.state in file_states


def wanted(session: Session, backend: orm.Backend, limit: int) -> list[schema.ReleaseUpload]:
    """Files of the backend under review whose bytes the job server has not received (nor
    the site refused), oldest first: for the heartbeat to ask for."""
    if limit <= 0:
        return []
    release_states, file_states, _ = RELEASE_ACTS["vote"]
    rows = session.scalars(
        select(orm.ReleaseFile)
        .join(orm.Release, orm.Release.id == orm.ReleaseFile.release_id)
        .where(
            orm.Release.backend_id == backend.id,
            orm.Release.state.in_(release_states),
            orm.ReleaseFile.state.in_(file_states),
            orm.ReleaseFile.review_uploaded_at.is_(None),
            orm.ReleaseFile.review_refused.is_(None),
        )
        .order_by(orm.ReleaseFile.id)
        .limit(limit)
    ).all()
    return [
        schema.ReleaseUpload(
            file=f.id,
            job=f.job.identifier,
            workspace=f.release.workspace.name,
            path=f.path,
            sha256=f.sha256,
            size=f.size,
            purpose="review",
        )
        for f in rows
    ]


def require_reader(caller: Caller, row: orm.ReleaseFile) -> None:
    """Deny by default: only one who may review this file reads its review copy.

    Not its author (theirs is the output on the site, in their workspace), nor a project
    member who is no output checker, nor a publisher who does not review."""
    project = row.release.workspace.project
    if not caller.can(P.RELEASE_REVIEW, project, row.release.backend):
        raise ProblemError(
            403,
            f"{caller.name} may not read files under review: only output "
            "checkers may, before they are released",
        )
    if row.release.created_by_id == caller.user.id:
        raise ProblemError(
            403,
            "you asked for this release: the review copy is for the output "
            "checkers; your output is in your workspace on the site",
        )


def readable(row: orm.ReleaseFile) -> str | None:
    """Why the review copy cannot be read now, or None if it can."""
    if not under_review(row):
        state = row.state.replace("_", " ")
        if row.state == "released":
            return f"{row.path} is released: read the released file instead"
        return f"{row.path} (version {row.version}) is {state}: it is no longer under review"
    if row.review_refused is not None:
        return f"the site would not send {row.path} for review: {row.review_refused}"
    if row.review_uploaded_at is None:
        return (
            f"the backend has not sent {row.path} for review yet: it does on its "
            "runner's next heartbeat"
        )
    return None


def may_open(caller: Caller, row: orm.ReleaseFile) -> bool:
    """Whether a page or a list offers `caller` a link to the review copy."""
    try:
        require_reader(caller, row)
    except ProblemError:
        return False
    return readable(row) is None
