"""Releases: moderately sensitive outputs asked for, reviewed twice, published."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints

from .common import Model, Slug, Timestamp
from .states import ReleaseState


class Decision(StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"


class ReleaseFileRequest(Model):
    job: str = Field(description="Identifier of the succeeded job that made the file.")
    path: str = Field(min_length=1, max_length=1000)


class ReleaseGroup(Model):
    context: str = Field(min_length=1, max_length=10_000, description="What the files show.")
    disclosure_control: str = Field(
        min_length=1, max_length=10_000, description="How small numbers were handled."
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


class Review(Model):
    reviewer: str
    decision: Decision
    comment: str
    created_at: Timestamp


class ReleaseFile(Model):
    id: str
    group: str
    path: str
    job: str
    sha256: str
    size: int
    state: str = Field(
        description="requested, in_review, approved, changes_requested, rejected, released"
    )
    uploaded: bool
    reviews: list[Review] = Field(
        default_factory=list, description="Shown once the caller has voted, or the review ended."
    )


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
