"""The review of a release's files: votes, comments, new versions, and the review copy.

Two output checkers vote on each file independently (neither sees the other's vote until
both have); a third breaks a tie; a vote may be changed, or withdrawn, until the file is
released. The author never votes, answers in comments, and may replace a file the checkers
asked to change: the new version is reviewed afresh and the old one kept. The rules are data in
`states.py`, read by `review.py`; a file's state moves only through `transitions.move`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import schema
from .. import orm, review, review_copies
from ..audit import record
from ..callers import Caller
from ..errors import ProblemError
from ..events import emit_release
from ..permissions import Permission as P
from ..states import OPEN
from ..transitions import move
from .releases import frozen_file, release_row


def release_file(
    session: Session, caller: Caller, release_id: str, file_id: str, need: P
) -> tuple[orm.Release, orm.ReleaseFile]:
    """The release and its file, if `caller` may see the release and has `need` in its project."""
    row = release_row(caller, session, release_id)
    caller.require(need, row.workspace.project, row.backend)
    target = next((f for f in row.files if f.id == file_id), None)
    if target is None:
        raise ProblemError(404, f"the release has no file {file_id!r}")
    return row, target


def vote(
    session: Session,
    caller: Caller,
    release_id: str,
    file_id: str,
    body: schema.ReviewCreate,
    *,
    change: bool,
    required: int,
    notifier: Any,
) -> orm.Release:
    """A checker's first vote (`change=False`) or a changed one; the file moves to the state
    its votes now give (`review.retally`), and the author hears once all files are settled."""
    row, target = release_file(session, caller, release_id, file_id, P.RELEASE_REVIEW)
    review.require_act("vote", row, caller.user.id, target)
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
    review.retally(session, target, required, caller.name)
    record(
        session,
        caller.name,
        "release_file.review",
        target,
        before,
        {"decision": body.decision.value, "state": target.state},
    )
    if not was_settled and review.settled(row):
        notifier.release(session, row, "release.reviewed")
    emit_release(session, row)
    session.commit()
    return row


def withdraw_vote(
    session: Session,
    caller: Caller,
    release_id: str,
    file_id: str,
    *,
    required: int,
) -> orm.Release:
    """A checker takes their own vote back (an approval, or any other decision) while the
    file is still open: the file goes back to the state the remaining votes give. Once it is
    published (or superseded, or withdrawn) the vote is part of the record and stays."""
    row, target = release_file(session, caller, release_id, file_id, P.RELEASE_REVIEW)
    if target.state not in OPEN:
        what = "an approval" if target.state == "released" else "a vote"
        raise ProblemError(
            409,
            f"{target.path} (version {target.version}) is {target.state.replace('_', ' ')}: "
            f"{what} can be withdrawn only until the file is published",
        )
    review.require_act("withdraw_vote", row, caller.user.id, target)
    mine = next((r for r in target.reviews if r.reviewer_id == caller.user.id), None)
    if mine is None:
        raise ProblemError(
            409, f"you have not voted on {target.path}: there is no vote of yours to withdraw"
        )
    before = {
        "decision": mine.decision,
        "comment": mine.comment,
        "cast_at": mine.created_at.isoformat(),
        "changed_at": mine.updated_at.isoformat() if mine.updated_at else None,
        "state": target.state,
    }
    target.reviews.remove(mine)
    session.delete(mine)
    review.retally(session, target, required, caller.name)
    record(
        session,
        caller.name,
        "release_file.review_withdraw",
        target,
        before,
        {"state": target.state},
    )
    emit_release(session, row)
    session.commit()
    return row


def has_voted(session: Session, caller: Caller, release_id: str, file_id: str) -> bool:
    """Whether `caller` voted on the file already (a page's form then changes the vote)."""
    row = release_row(caller, session, release_id)
    return any(
        r.reviewer_id == caller.user.id for f in row.files if f.id == file_id for r in f.reviews
    )


def comment(
    session: Session, caller: Caller, release_id: str, file_id: str, body: schema.CommentCreate
) -> orm.Release:
    """The author's answer to the checkers, or a note between them, on one file."""
    row, target = release_file(session, caller, release_id, file_id, P.OUTPUTS_VIEW_UNRELEASED)
    review.require_act("comment", row, caller.user.id, target)
    note = orm.ReleaseComment(release_file_id=target.id, author_id=caller.user.id, text=body.text)
    note.author = caller.user
    session.add(note)
    target.comments.append(note)
    record(session, caller.name, "release_file.comment", target, after={"text": body.text})
    emit_release(session, row)
    session.commit()
    return row


def replace_file(
    session: Session,
    caller: Caller,
    release_id: str,
    file_id: str,
    body: schema.FileReplace,
    notifier: Any,
) -> orm.Release:
    """A new version of a file the checkers asked to change, from a newer job's output."""
    row, target = release_file(session, caller, release_id, file_id, P.RELEASE_REQUEST)
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
    move(session, target, "superseded", actor=caller.name)
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
    notifier.release(session, row, "release.updated")
    emit_release(session, row)
    session.commit()
    return row


def open_review_copy(
    session: Session, caller: Caller, target: orm.ReleaseFile, release_dir: str, via: str
) -> Path:
    """The stored review copy of `target` if `caller` may read it now, the read audited
    (`via` "api" or "page")."""
    review_copies.require_reader(caller, target)
    if (why := review_copies.readable(target)) is not None:
        raise ProblemError(409, why)
    path = review_copies.review_path(release_dir, target.sha256)
    if not path.is_file():
        raise ProblemError(
            503,
            f"the review copy of {target.path} is missing on the job "
            "server: an administrator must look into it",
        )
    record(session, caller.name, "release_file.review_view", target, after={"via": via})
    session.commit()
    return path


def review_copy(
    session: Session, caller: Caller, release_id: str, file_id: str, release_dir: str
) -> tuple[orm.ReleaseFile, Path]:
    """A file under review and its stored review copy, for the checkers who may vote on it
    (never its author): who may read it is `review_copies.require_reader`'s to say."""
    row = release_row(caller, session, release_id)
    target = next((f for f in row.files if f.id == file_id), None)
    if target is None:
        raise ProblemError(404, f"the release has no file {file_id!r}")
    review_copies.require_reader(caller, target)
    caller.require(P.RELEASE_REVIEW, row.workspace.project, row.backend)  # as require_reader
    return target, open_review_copy(session, caller, target, release_dir, "api")
