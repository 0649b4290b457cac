"""The checkers' desk: what waits for an output checker, what they decided, how long it takes.

One answer (`Desk`) to `GET /releases/queue`, shaped for the caller: the backlog of
releases they may review, oldest request first; their own votes, latest cast first; and the
median time from a release's request to a file's first decision over the last days. It names
who holds a release (the checkers who voted on its open files) but never how they voted:
a checker sees the others' votes only once they have voted too (as on the release itself).
"""

from __future__ import annotations

from pydantic import Field

from .common import Model, Timestamp
from .releases import Decision
from .states import FileState, ReleaseState


class WaitingFile(Model):
    """A file of the release waiting for the caller's vote."""

    id: str
    path: str
    version: int
    state: FileState
    tie: bool = Field(
        False, description="Every required checker voted and they disagree: the next vote decides."
    )


class QueuedRelease(Model):
    """A release with files still open (asked for, or in review), that the caller may review."""

    id: str
    org: str
    project: str
    workspace: str
    backend: str
    state: ReleaseState
    created_by: str = Field(description="The author, who answers the checkers' comments.")
    created_at: Timestamp
    age_seconds: float = Field(description="How long since it was asked for.")
    files: dict[FileState, int] = Field(
        description="The files asked for now (not replaced or withdrawn ones), by state."
    )
    waiting_for_you: list[WaitingFile] = Field(
        default_factory=list, description="Open files the caller has not voted on yet."
    )
    held_by: list[str] = Field(
        default_factory=list,
        description="The checkers who voted on its open files so far: names, never decisions.",
    )


class DeskVote(Model):
    """One of the caller's votes, and where its file stands now."""

    id: int
    release: str
    file: str
    path: str
    version: int
    org: str
    project: str
    workspace: str
    decision: Decision
    cast_at: Timestamp
    changed_at: Timestamp | None = None
    file_state: FileState = Field(description="The file's state now.")


class DecisionTimes(Model):
    """The median time from a release's request to each file's first decision (approved,
    changes requested or rejected) among the files first decided in the window."""

    sites: list[str] = Field(
        default_factory=list, description="The sites counted; empty: every site."
    )
    files: int = Field(description="Files first decided in the window.")
    median_seconds: float | None = Field(None, description="None when no file was decided.")


class Desk(Model):
    checker: str
    sites: list[str] = Field(
        default_factory=list,
        description="The sites that named the caller a checker; empty for a global checker.",
    )
    now: Timestamp
    backlog: list[QueuedRelease] = Field(default_factory=list, description="Oldest first.")
    backlog_total: int = Field(description="Releases in the backlog, shown or not.")
    history: list[DeskVote] = Field(default_factory=list, description="Latest cast first.")
    history_before: int | None = Field(
        None, description="Ask again with this `before` for the older votes; None: no more."
    )
    window_days: int = 30
    decision_times: DecisionTimes = Field(description="Over every site.")
    decision_times_yours: DecisionTimes = Field(
        description="Over the sites the caller checks for (every site for a global checker)."
    )
