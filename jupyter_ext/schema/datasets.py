"""Datasets at a backend: described on the site, used by a project only once approved.

Only a dataset's description and manifest leave the site: its files' names, sizes and
sha256, and for tables their row counts and column names and types, never a value. Dummy
data (a small synthetic stand-in with the same columns) may leave, for development.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from enum import StrEnum

from pydantic import Field

from .common import Model, Slug, Timestamp

SHA256 = r"^[0-9a-f]{64}$"


class Column(Model):
    name: str = Field(max_length=500)
    type: str = Field(max_length=32, description="integer, number, boolean, date, text, empty")


class ManifestFile(Model):
    path: str = Field(min_length=1, max_length=1000, description="Relative to the dataset.")
    size: int = Field(ge=0)
    sha256: str = Field(pattern=SHA256)
    rows: int | None = Field(None, ge=0, description="Data rows, for a table.")
    columns: list[Column] | None = None


class Manifest(Model):
    files: list[ManifestFile] = Field(max_length=100_000)
    sha256: str = Field(pattern=SHA256, description="The dataset version's registered hash.")


def manifest_digest(files: list[ManifestFile]) -> str:
    """A dataset version's hash: over its files' paths, sizes and sha256, in path order, so
    the site and the job server compute the same one."""
    entries = sorted([f.path, f.size, f.sha256] for f in files)
    return hashlib.sha256(json.dumps(entries, separators=(",", ":")).encode()).hexdigest()


class DatasetStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class DatasetRegistration(Model):
    """What a backend's runner sends of a dataset: a new one, or a new version of it."""

    name: Slug
    description: str = Field(min_length=1, max_length=10_000)
    owner: Slug = Field(description="The organisation that holds the data.")
    manifest: Manifest
    dummy: Manifest | None = Field(None, description="Dummy data's manifest, if it has some.")


class DatasetVersion(Model):
    version: int
    manifest: Manifest
    dummy: Manifest | None = None
    created_at: Timestamp


class Dataset(Model):
    name: str
    backend: str
    description: str
    owner: str
    status: DatasetStatus
    versions: list[DatasetVersion] = Field(description="Newest first.")
    created_at: Timestamp


class AccessState(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    REVOKED = "revoked"
    WITHDRAWN = "withdrawn"
    EXPIRED = "expired"  # approved until a time that has passed


class AccessRequestCreate(Model):
    project: Slug
    backend: Slug
    dataset: Slug
    purpose: str = Field(min_length=1, max_length=10_000)
    versions: list[int] | None = Field(None, description="Versions wanted; all when absent.")


class AccessDecision(Model):
    reason: str = Field("", max_length=10_000)
    until: dt.date | None = Field(None, description="Approved until this day (UTC), inclusive.")


class AccessRequest(Model):
    id: str
    project: str
    backend: str
    dataset: str
    purpose: str
    versions: list[int] | None
    state: AccessState
    requested_by: str
    requested_at: Timestamp
    decided_by: str | None = None
    decided_at: Timestamp | None = None
    reason: str | None = None
    until: dt.date | None = None
