"""The output checkers' review: what the votes decide, and who may act when.

Functions over rows already loaded: the services (`services/releases.py`, `reviews.py`)
ask them and then write; a file's new state goes through `transitions.move`. The allowed
transitions and each act's conditions are data in `states.py`; this reads them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy.orm import Session

from ..schema.states import FileState
from . import orm
from .errors import ProblemError
from .states import RELEASE_ACTS
from .transitions import move

F = FileState
OUTCOME = {
    "approve": F.APPROVED,
    "request_changes": F.CHANGES_REQUESTED,
    "reject": F.REJECTED,
}
SETTLED = frozenset({F.APPROVED, F.CHANGES_REQUESTED, F.REJECTED, F.RELEASED})
CURRENT_OUT = frozenset({F.SUPERSEDED, F.WITHDRAWN})  # no longer part of what is asked for


def tally(decisions: Sequence[str], required: int) -> FileState:
    """The state `decisions` (in the order cast) give a file that needs `required` votes.

    A strict majority of the first `required` votes decides; with none (two checkers who
    disagree), the next checker's vote breaks the tie.
    """
    if not decisions:
        return F.REQUESTED
    if len(decisions) < required:
        return F.IN_REVIEW
    decision, count = Counter(decisions[:required]).most_common(1)[0]
    if count * 2 > required:
        return OUTCOME[decision]
    if len(decisions) > required:
        return OUTCOME[decisions[required]]
    return F.IN_REVIEW


def retally(session: Session, row: orm.ReleaseFile, required: int, actor: str) -> None:
    """Move the file to the state its votes now give, through the state machine."""
    new = tally([r.decision for r in row.reviews], required)
    if new != row.state:
        move(session, row, new, actor=actor)


def votes_visible(row: orm.ReleaseFile, user_id: int, required: int) -> bool:
    """Neither checker sees the other's vote until both (all required) have voted."""
    return len(row.reviews) >= required or any(r.reviewer_id == user_id for r in row.reviews)


def current(release: orm.Release) -> list[orm.ReleaseFile]:
    """The files asked for now: each file's latest version, unless withdrawn."""
    return [f for f in release.files if f.state not in CURRENT_OUT]


def settled(release: orm.Release) -> bool:
    files = current(release)
    return bool(files) and all(f.state in SETTLED for f in files)


def ordered(files: Sequence[orm.ReleaseFile]) -> list[orm.ReleaseFile]:
    """Latest versions first (by group and path), then the versions they replaced."""
    return sorted(files, key=lambda f: (f.state == F.SUPERSEDED, f.group, f.path, -f.version))


def require_act(
    act: str, release: orm.Release, user_id: int, row: orm.ReleaseFile | None = None
) -> None:
    """Refuse, saying why, an act the review does not allow now or not to this person."""
    release_states, file_states, author = RELEASE_ACTS[act]
    is_author = release.created_by_id == user_id
    if author == "never" and is_author:
        raise ProblemError(403, f"you asked for this release, so you may not {_verb(act)} it")
    if author == "only" and not is_author:
        raise ProblemError(
            403,
            f"only {release.created_by.username}, who asked for this release, may {_verb(act)} it",
        )
    if release.state not in release_states:
        raise ProblemError(409, f"the release is {release.state}: it can no longer be {_done(act)}")
    if row is not None and file_states is not None and row.state not in file_states:
        wanted = " or ".join(sorted(s.replace("_", " ") for s in file_states))
        raise ProblemError(
            409,
            f"{row.path} (version {row.version}) is "
            f"{row.state.replace('_', ' ')}: it can be {_done(act)} only "
            f"when {wanted}",
        )


def _verb(act: str) -> str:
    return {"vote": "review", "withdraw_vote": "withdraw a vote on"}.get(act, act)


def _done(act: str) -> str:
    return {
        "vote": "reviewed",
        "comment": "commented on",
        "replace": "replaced",
        "publish": "published",
        "withdraw": "withdrawn",
        "withdraw_vote": "voted on",
    }[act]
