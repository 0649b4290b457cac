"""Every state machine of the job server, its transitions written as data.

`advance(machine, current, new)` is the only way a state changes; anything
not in the table is refused with a sentence, and nothing is written.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..schema.states import ApplicationState, JobState, ReleaseState
from .errors import ProblemError

J, A, R = JobState, ApplicationState, ReleaseState

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
    "release": {
        R.REQUESTED: frozenset({R.APPROVED, R.REJECTED, R.WITHDRAWN}),
        R.APPROVED: frozenset({R.RELEASED, R.REJECTED}),
        R.RELEASED: frozenset(),
        R.REJECTED: frozenset(),
        R.WITHDRAWN: frozenset(),
    },
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
