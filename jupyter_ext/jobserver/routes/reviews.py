"""The review of a release's files: votes, comments, new versions from the author, and the
review copy (the rules: `services/reviews.py`, `review.py`, `states.py`).

Two output checkers vote on each file independently (neither sees the other's vote until
both have); a third breaks a tie; a vote may be changed or withdrawn until the file is
released. The author never votes, answers in comments, and may replace a file the checkers
asked to change: the new version is reviewed afresh and the old one kept.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from ... import schema
from .. import release_views
from ..callers import Caller
from ..deps import SessionDep, requires
from ..permissions import Permission as P
from ..services import reviews
from ..serving import sandboxed_file

router = APIRouter(tags=["releases"])
FILE = "/releases/{release_id}/files/{file_id}"


def _view(request: Request, caller: Caller, row) -> schema.Release:
    return release_views.release(caller, row, request.app.state.settings.required_approvals)


def _vote(request, caller, session, release_id, file_id, body, change: bool):
    state = request.app.state
    row = reviews.vote(
        session,
        caller,
        release_id,
        file_id,
        body,
        change=change,
        required=state.settings.required_approvals,
        notifier=state.notifier,
    )
    return _view(request, caller, row)


@router.post(f"{FILE}/reviews", status_code=201)
def review_file(
    release_id: str,
    file_id: str,
    body: schema.ReviewCreate,
    request: Request,
    caller: Annotated[Caller, requires(P.RELEASE_REVIEW, "project")],
    session: SessionDep,
) -> schema.Release:
    return _vote(request, caller, session, release_id, file_id, body, change=False)


@router.put(f"{FILE}/reviews")
def change_review(
    release_id: str,
    file_id: str,
    body: schema.ReviewCreate,
    request: Request,
    caller: Annotated[Caller, requires(P.RELEASE_REVIEW, "project")],
    session: SessionDep,
) -> schema.Release:
    """Change one's vote, e.g. after the author's answer; until the file is released."""
    return _vote(request, caller, session, release_id, file_id, body, change=True)


@router.delete(f"{FILE}/reviews")
def withdraw_review(
    release_id: str,
    file_id: str,
    request: Request,
    caller: Annotated[Caller, requires(P.RELEASE_REVIEW, "project")],
    session: SessionDep,
) -> schema.Release:
    """Withdraw one's own vote on a file (an approval, or any decision) until the file is
    published: it goes back to the state the remaining votes give. Audited with the vote."""
    required = request.app.state.settings.required_approvals
    row = reviews.withdraw_vote(session, caller, release_id, file_id, required=required)
    return _view(request, caller, row)


@router.post(f"{FILE}/comments", status_code=201)
def comment(
    release_id: str,
    file_id: str,
    body: schema.CommentCreate,
    request: Request,
    caller: Annotated[Caller, requires(P.OUTPUTS_VIEW_UNRELEASED, "project")],
    session: SessionDep,
) -> schema.Release:
    """The author's answer to the checkers, or a note between them, on one file."""
    return _view(request, caller, reviews.comment(session, caller, release_id, file_id, body))


@router.post(f"{FILE}/versions", status_code=201)
def replace_file(
    release_id: str,
    file_id: str,
    body: schema.FileReplace,
    request: Request,
    caller: Annotated[Caller, requires(P.RELEASE_REQUEST, "owner")],
    session: SessionDep,
) -> schema.Release:
    """A new version of a file the checkers asked to change, from a newer job's output."""
    notifier = request.app.state.notifier
    row = reviews.replace_file(session, caller, release_id, file_id, body, notifier)
    return _view(request, caller, row)


@router.get(f"{FILE}/review-copy")
def review_copy(
    release_id: str,
    file_id: str,
    request: Request,
    caller: Annotated[Caller, requires(P.RELEASE_REVIEW, "project")],
    session: SessionDep,
):
    """The frozen bytes of a file under review, for the checkers who may vote on it (never
    its author), served as released files are: sandboxed, never sniffed; every read audited."""
    release_dir = request.app.state.settings.release_dir
    target, path = reviews.review_copy(session, caller, release_id, file_id, release_dir)
    return sandboxed_file(path, target.path)
