"""The review of a release's files: votes, comments, and new versions from the author.

Two output checkers vote on each file independently (neither sees the other's vote until
both have); a third breaks a tie; a vote may be changed until the file is released. The
author never votes, answers in comments, and may replace a file the checkers asked to
change: the new version is reviewed afresh and the old one kept. The rules are data in
`states.py`, read by `review.py`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import schema
from .. import orm, review, review_copies
from ..audit import record
from ..deps import Caller, CallerDep, SessionDep, permission
from ..errors import ProblemError
from ..events import emit_release
from ..permissions import Permission as P
from ..states import advance
from .released_files import SANDBOXED, VIEWABLE, media_type
from .releases import frozen_file, release_row, release_view

router = APIRouter(tags=["releases"])
FILE = "/releases/{release_id}/files/{file_id}"


def _target(caller: Caller, session: Session, release_id: str, file_id: str, need: P):
    row = release_row(caller, session, release_id)
    caller.require(need, row.workspace.project)
    target = next((f for f in row.files if f.id == file_id), None)
    if target is None:
        raise ProblemError(404, f"the release has no file {file_id!r}")
    return row, target


def _vote(request: Request, caller: Caller, session: Session, row, target, body, change: bool):
    review.require_act("vote", row, caller.user.id, target)
    required = request.app.state.settings.required_approvals
    was_settled = review.settled(row)
    mine = next((r for r in target.reviews if r.reviewer_id == caller.user.id), None)
    if change != (mine is not None):
        raise ProblemError(
            409,
            "you have voted on this file already: change your vote with PUT"
            if mine
            else "you have not voted on this file yet: vote with POST",
        )
    before = {"decision": mine.decision, "state": target.state} if mine else None
    if mine is None:
        mine = orm.Review(release_file_id=target.id, reviewer_id=caller.user.id)
        mine.reviewer = caller.user
        session.add(mine)
        target.reviews.append(mine)
    else:
        mine.updated_at = orm.utcnow()
    mine.decision, mine.comment = body.decision.value, body.comment
    review.retally(target, required)
    record(
        session,
        caller.name,
        "release_file.review",
        target,
        before,
        {"decision": body.decision.value, "state": target.state},
    )
    if not was_settled and review.settled(row):
        request.app.state.notifier.release(session, row, "release.reviewed")
    emit_release(session, row)
    session.commit()
    return release_view(caller, row, required)


@router.post(
    f"{FILE}/reviews", status_code=201, openapi_extra=permission(P.RELEASE_REVIEW, "project")
)
def review_file(
    release_id: str,
    file_id: str,
    body: schema.ReviewCreate,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
) -> schema.Release:
    row, target = _target(caller, session, release_id, file_id, P.RELEASE_REVIEW)
    return _vote(request, caller, session, row, target, body, change=False)


@router.put(f"{FILE}/reviews", openapi_extra=permission(P.RELEASE_REVIEW, "project"))
def change_review(
    release_id: str,
    file_id: str,
    body: schema.ReviewCreate,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
) -> schema.Release:
    """Change one's vote, e.g. after the author's answer; until the file is released."""
    row, target = _target(caller, session, release_id, file_id, P.RELEASE_REVIEW)
    return _vote(request, caller, session, row, target, body, change=True)


@router.post(
    f"{FILE}/comments",
    status_code=201,
    openapi_extra=permission(P.OUTPUTS_VIEW_UNRELEASED, "project"),
)
def comment(
    release_id: str,
    file_id: str,
    body: schema.CommentCreate,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
) -> schema.Release:
    """The author's answer to the checkers, or a note between them, on one file."""
    row, target = _target(caller, session, release_id, file_id, P.OUTPUTS_VIEW_UNRELEASED)
    review.require_act("comment", row, caller.user.id, target)
    note = orm.ReleaseComment(release_file_id=target.id, author_id=caller.user.id, text=body.text)
    note.author = caller.user
    session.add(note)
    target.comments.append(note)
    record(session, caller.name, "release_file.comment", target, after={"text": body.text})
    emit_release(session, row)
    session.commit()
    return release_view(caller, row, request.app.state.settings.required_approvals)


@router.post(
    f"{FILE}/versions", status_code=201, openapi_extra=permission(P.RELEASE_REQUEST, "owner")
)
def replace_file(
    release_id: str,
    file_id: str,
    body: schema.FileReplace,
    request: Request,
    caller: CallerDep,
    session: SessionDep,
) -> schema.Release:
    """A new version of a file the checkers asked to change, from a newer job's output."""
    row, target = _target(caller, session, release_id, file_id, P.RELEASE_REQUEST)
    review.require_act("replace", row, caller.user.id, target)
    wanted = schema.ReleaseFileRequest(job=body.job, path=body.path or target.path)
    new = frozen_file(session, row, wanted, target.group)
    if new.sha256 == target.sha256:
        raise ProblemError(
            422,
            f"{wanted.path} of job {body.job} is byte for byte the version the checkers "
            "saw: change the file and run its action again",
        )
    taken = session.scalar(
        select(orm.ReleaseFile.id).where(
            orm.ReleaseFile.release_id == row.id, orm.ReleaseFile.replaces_id == target.id
        )
    )
    if taken:
        raise ProblemError(409, "this version was replaced already")
    new.version, new.replaces_id = target.version + 1, target.id
    target.state = advance("release_file", target.state, "superseded")
    row.files.append(new)
    if body.comment:
        note = orm.ReleaseComment(author_id=caller.user.id, text=body.comment)
        note.author = caller.user
        new.comments.append(note)
    session.flush()
    record(
        session,
        caller.name,
        "release_file.replace",
        new,
        {"file": target.id, "sha256": target.sha256},
        {"file": new.id, "sha256": new.sha256, "version": new.version},
    )
    request.app.state.notifier.release(session, row, "release.updated")
    emit_release(session, row)
    session.commit()
    return release_view(caller, row, request.app.state.settings.required_approvals)


@router.get(f"{FILE}/review-copy", openapi_extra=permission(P.RELEASE_REVIEW, "project"))
def review_copy(
    release_id: str, file_id: str, request: Request, caller: CallerDep, session: SessionDep
):
    """The frozen bytes of a file under review, for the checkers who may vote on it (never
    its author), served as released files are: sandboxed, never sniffed; every read audited."""
    # who may read it is require_reader's to say, in its own words
    _, target = _target(caller, session, release_id, file_id, P.OUTPUTS_VIEW_UNRELEASED)
    path = open_review_copy(request, caller, session, target, "api")
    suffix = Path(target.path).suffix.lower()
    return FileResponse(
        path,
        media_type=media_type(target.path),
        headers=SANDBOXED,
        filename=Path(target.path).name,
        content_disposition_type="inline" if suffix in VIEWABLE else "attachment",
    )


def open_review_copy(
    request: Request, caller: Caller, session: Session, target: orm.ReleaseFile, via: str
) -> Path:
    """The stored review copy of `target` if `caller` may read it now, the read audited."""
    review_copies.require_reader(caller, target)
    if (why := review_copies.readable(target)) is not None:
        raise ProblemError(409, why)
    path = review_copies.review_path(request.app.state.settings.release_dir, target.sha256)
    if not path.is_file():
        raise ProblemError(
            503,
            f"the review copy of {target.path} is missing on the job "
            "server: an administrator must look into it",
        )
    record(session, caller.name, "release_file.review_view", target, after={"via": via})
    session.commit()
    return path
