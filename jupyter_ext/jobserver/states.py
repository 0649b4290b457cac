"""Every state machine of the job server, its transitions written as data.

`advance(machine, current, new)` is the only way a state changes; anything
not in the table is refused with a sentence, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..schema.datasets import AccessState
from ..schema.states import ApplicationState, FileState, JobState, ReleaseState, ScheduleState
from .errors import ProblemError

J, A, R, F = JobState, ApplicationState, ReleaseState, FileState
OPEN = frozenset({F.REQUESTED, F.IN_REVIEW, F.APPROVED, F.CHANGES_REQUESTED, F.REJECTED})

TRANSITIONS: Mapping[str, Mapping[str, frozenset[str]]] = {
    "job": {
        J.PENDING: frozenset({J.RUNNING, J.CANCELLED, J.FAILED}),  # failed: could not start
        J.RUNNING: frozenset({J.SUCCEEDED, J.FAILED, J.CANCELLED, J.PENDING}),  # pending: re-queued
        J.SUCCEEDED: frozenset(),
        J.FAILED: frozenset(),
        J.CANCELLED: frozenset(),
    },
    "application": {
        A.DRAFT: frozenset({A.SUBMITTED}),
        A.SUBMITTED: frozenset({A.APPROVED, A.REJECTED}),
        A.APPROVED: frozenset(),
        A.REJECTED: frozenset({A.SUBMITTED}),  # the applicant may resubmit
    },
    "release": {  # released once a first file is; more approved files may follow it
        R.REQUESTED: frozenset({R.RELEASED, R.WITHDRAWN}),
        R.APPROVED: frozenset({R.RELEASED}),  # not used by new releases: kept for old rows
        R.RELEASED: frozenset(),
        R.REJECTED: frozenset(),
        R.WITHDRAWN: frozenset(),
    },
    # One version of one file. The votes decide among the open states (see review.tally);
    # a vote may be changed, or withdrawn (back to requested when none is left), until the
    # file is released, superseded or withdrawn.
    "release_file": {
        F.REQUESTED: frozenset(
            {F.IN_REVIEW, F.APPROVED, F.CHANGES_REQUESTED, F.REJECTED, F.WITHDRAWN}
        ),
        F.IN_REVIEW: frozenset(
            {F.REQUESTED, F.APPROVED, F.CHANGES_REQUESTED, F.REJECTED, F.WITHDRAWN}
        ),
        F.APPROVED: frozenset(
            {F.RELEASED, F.REQUESTED, F.IN_REVIEW, F.CHANGES_REQUESTED, F.REJECTED, F.WITHDRAWN}
        ),
        F.CHANGES_REQUESTED: frozenset(
            {F.SUPERSEDED, F.REQUESTED, F.IN_REVIEW, F.APPROVED, F.REJECTED, F.WITHDRAWN}
        ),
        F.REJECTED: frozenset(
            {F.REQUESTED, F.IN_REVIEW, F.APPROVED, F.CHANGES_REQUESTED, F.WITHDRAWN}
        ),
        F.SUPERSEDED: frozenset(),
        F.RELEASED: frozenset(),
        F.WITHDRAWN: frozenset(),
    },
}

TRANSITIONS["dataset_access"] = {  # expired is not stored: an approval past its day is
    AccessState.REQUESTED: frozenset(
        {AccessState.APPROVED, AccessState.REJECTED, AccessState.WITHDRAWN}
    ),
    AccessState.APPROVED: frozenset({AccessState.REVOKED}),
    AccessState.REJECTED: frozenset(),
    AccessState.REVOKED: frozenset(),
    AccessState.WITHDRAWN: frozenset(),
}

TRANSITIONS["schedule"] = {  # pause, resume and delete; firing changes no state
    ScheduleState.ACTIVE: frozenset({ScheduleState.PAUSED, ScheduleState.DELETED}),
    ScheduleState.PAUSED: frozenset({ScheduleState.ACTIVE, ScheduleState.DELETED}),
    ScheduleState.DELETED: frozenset(),
}

# What each act on a release needs: the release's states, the file's states (None: any),
# and whether the release's author must do it ("only"), must not ("never"), or either.
# Who may act at all is the permission table's business; this is the review's.
RELEASE_ACTS: Mapping[str, tuple[frozenset[str], frozenset[str] | None, str]] = {
    "vote": (frozenset({R.REQUESTED, R.RELEASED}), OPEN, "never"),
    "withdraw_vote": (frozenset({R.REQUESTED, R.RELEASED}), OPEN, "never"),  # until published
    "comment": (frozenset({R.REQUESTED, R.RELEASED}), None, "either"),
    "replace": (frozenset({R.REQUESTED, R.RELEASED}), frozenset({F.CHANGES_REQUESTED}), "only"),
    "publish": (frozenset({R.REQUESTED, R.RELEASED}), frozenset({F.APPROVED}), "never"),
    "withdraw": (frozenset({R.REQUESTED}), None, "only"),
}

FINISHED_JOB_STATES = frozenset({J.SUCCEEDED, J.FAILED, J.CANCELLED})


def can_advance(machine: str, current: str, new: str) -> bool:
    return new in TRANSITIONS[machine].get(current, frozenset())


def advance(machine: str, current: str, new: str) -> str:
    """`new` if the table allows it from `current`, else a 409 problem."""
    if not can_advance(machine, current, new):
        allowed = sorted(TRANSITIONS[machine].get(current, ())) or ["nothing: it is final"]
        raise ProblemError(
            409,
            f"a {machine} that is {current} cannot become {new}; it can become "
            f"{', '.join(allowed)}",
        )
    return new
