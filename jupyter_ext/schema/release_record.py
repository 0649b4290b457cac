"""The record auditors ask for: every decision on every version of a released-or-not file.

One `ReleaseDecision` per file version of a release: the frozen file (sha256, size), what
the pre-release rules found, each checker's vote with its comment, the votes withdrawn
before publication, who asked and who published, when. The CSV form has one row per vote
(`CSV_COLUMNS`), the file's columns repeated.
"""

from __future__ import annotations

from pydantic import Field

from .common import Model, Timestamp
from .releases import Decision
from .states import FileState


class RecordedFinding(Model):
    rule: str
    verdict: str
    message: str


class RecordedVote(Model):
    reviewer: str
    decision: Decision
    comment: str = ""
    cast_at: Timestamp | None = None
    changed_at: Timestamp | None = Field(None, description="When the vote was last changed.")
    withdrawn_at: Timestamp | None = Field(None, description="Withdrawn votes only.")


class ReleaseDecision(Model):
    release: str
    project: str
    workspace: str
    backend: str
    group: str
    file: str = Field(description="The file version's id.")
    path: str
    version: int
    sha256: str
    size: int
    state: FileState = Field(description="Its state when the record was read.")
    findings: list[RecordedFinding] = Field(default_factory=list)
    votes: list[RecordedVote] = Field(default_factory=list)
    withdrawn_votes: list[RecordedVote] = Field(
        default_factory=list, description="Votes taken back before publication (from the audit)."
    )
    requested_by: str
    requested_at: Timestamp
    published_by: str | None = None
    published_at: Timestamp | None = None


FILE_COLUMNS = (
    "release",
    "project",
    "workspace",
    "backend",
    "group",
    "file",
    "path",
    "version",
    "sha256",
    "size",
    "state",
    "findings",
    "requested_by",
    "requested_at",
    "published_by",
    "published_at",
)
VOTE_COLUMNS = ("reviewer", "decision", "comment", "cast_at", "changed_at", "withdrawn_at")
CSV_COLUMNS = FILE_COLUMNS + VOTE_COLUMNS


def csv_rows(decision: ReleaseDecision) -> list[list[str]]:
    """The CSV rows of one file version: one per vote (withdrawn ones too), or one with empty
    vote columns if none was cast; findings as `verdict rule: message`, joined by `; `."""
    data = decision.model_dump(mode="json")
    data["findings"] = "; ".join(f"{f.verdict} {f.rule}: {f.message}" for f in decision.findings)
    head = ["" if data[c] is None else str(data[c]) for c in FILE_COLUMNS]
    votes = [v.model_dump(mode="json") for v in decision.votes + decision.withdrawn_votes]
    return [
        head + ["" if v.get(c) is None else str(v[c]) for c in VOTE_COLUMNS] for v in votes or [{}]
    ]
