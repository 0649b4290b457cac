"""Releases: moderately sensitive outputs asked for, reviewed twice, published."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from .common import Model, Slug, Timestamp
from .release_rules import Finding
from .states import FileState, ReleaseState
from .table_summary import TableSummary


class Decision(StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"


class ReleaseFileRequest(Model):
    job: str = Field(description="Identifier of the succeeded job that made the file.")
    path: str = Field(min_length=1, max_length=1000)


class ReleaseGroup(Model):
    """Files asked for together, with what a checker needs to judge them without the data
    (the job server refuses a group without them, saying what to write)."""

    context: str = Field(
        "",
        max_length=10_000,
        description="What the files show: the population, the period, what each count counts. "
        "Needed for every group.",
    )
    disclosure_control: str = Field(
        "",
        max_length=10_000,
        description="How small numbers were handled. Needed for a group with a table "
        "(.csv, .tsv) or a file the pre-release rules flagged.",
    )
    files: list[ReleaseFileRequest] = Field(min_length=1, max_length=1000)


class ReleaseCreate(Model):
    workspace: Slug
    backend: Slug
    groups: dict[Annotated[str, StringConstraints(min_length=1, max_length=200)], ReleaseGroup] = (
        Field(min_length=1, max_length=100)
    )


class ReviewCreate(Model):
    decision: Decision
    comment: str = Field("", max_length=10_000)


class CommentCreate(Model):
    text: str = Field(min_length=1, max_length=10_000)


class FileReplace(Model):
    """A new version of a file whose checkers asked for changes: an output of a newer job."""

    job: str
    path: str | None = Field(None, min_length=1, max_length=1000, description="The same if absent.")
    comment: str = Field("", max_length=10_000, description="What changed, for the checkers.")


class Comment(Model):
    author: str
    text: str
    created_at: Timestamp


class Review(Model):
    reviewer: str
    decision: Decision
    comment: str
    created_at: Timestamp


class Overlap(Model):
    """A table the project released that shares rows with a file under review: named, and
    linked, by its path and ids, never by a value."""

    file: str = Field(description="The released file's id.")
    release: str = Field(description="The id of the release that published it.")
    workspace: str = Field(description="The workspace of that release.")
    path: str
    rows: int = Field(description="Rows of the reviewed file matched on the key columns.")
    cells: list[tuple[int, str]] = Field(
        default_factory=list,
        description="(data row from 1, column) of reviewed cells that differ from the "
        "released ones by a small count (the first 20).",
    )
    flagged: int = Field(0, description="How many cells differ by a small count in all.")


class ReleaseFile(Model):
    id: str
    group: str
    path: str
    job: str
    sha256: str
    size: int
    version: int = Field(1, description="1, then one more each time the author replaces it.")
    replaces: str | None = Field(None, description="The file id of the version before.")
    state: FileState
    uploaded: bool
    upload_refused: str | None = Field(
        None, description="Why the site would not send it (it changed, or its rules refuse it)."
    )
    deleted: bool = False
    review_copy: bool = Field(
        False, description="The site has sent its bytes for the output checkers to read."
    )
    findings: list[Finding] = Field(
        default_factory=list, description="What the pre-release rules flagged for the checkers."
    )
    rows: int | None = None
    columns: list[str] | None = None
    summary: TableSummary | None = Field(
        None, description="A table's summary, made on the site when its job ended: no cell of it."
    )
    overlaps: list[Overlap] = Field(
        default_factory=list,
        description="Tables the project released that share rows with its review copy.",
    )
    reviews: list[Review] = Field(
        default_factory=list, description="Shown once the caller has voted, or all have voted."
    )
    comments: list[Comment] = Field(default_factory=list)


class Release(Model):
    id: str
    workspace: str
    backend: str
    state: ReleaseState
    groups: dict[str, dict[str, str]]
    created_by: str
    created_at: Timestamp
    published_by: str | None = None
    published_at: Timestamp | None = None
    files: list[ReleaseFile] = Field(default_factory=list)
