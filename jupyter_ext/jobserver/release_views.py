"""The API's views of releases, their files and datasets: rows shaped for one caller.

A release shows a caller its unreleased files only if they may see unreleased outputs, and
a file's votes only once all required votes are cast (`review.votes_visible`).
"""

from __future__ import annotations

from .. import schema
from . import orm, review
from .callers import Caller
from .dataset_access import effective_state
from .permissions import Permission as P


def release(caller: Caller, row: orm.Release, required: int) -> schema.Release:
    unreleased = caller.can(P.OUTPUTS_VIEW_UNRELEASED, row.workspace.project, row.backend)
    files = [
        release_file(caller, f, required)
        for f in review.ordered(row.files)
        if unreleased or f.state == "released"
    ]
    return schema.Release(
        id=row.id,
        workspace=row.workspace.name,
        backend=row.backend.slug,
        state=row.state,
        groups=row.groups,
        created_by=row.created_by.username,
        created_at=row.created_at,
        published_at=row.published_at,
        files=files,
    )


def release_file(caller: Caller, f: orm.ReleaseFile, required: int) -> schema.ReleaseFile:
    check = schema.FileCheck.model_validate(f.check) if f.check else None
    shown = f.reviews if review.votes_visible(f, caller.user.id, required) else []
    return schema.ReleaseFile(
        id=f.id,
        group=f.group,
        path=f.path,
        job=f.job.identifier,
        sha256=f.sha256,
        size=f.size,
        version=f.version,
        replaces=f.replaces_id,
        state=f.state,
        uploaded=f.uploaded_at is not None,
        upload_refused=f.upload_refused,
        deleted=f.deleted_at is not None,
        review_copy=f.review_uploaded_at is not None,
        findings=(check.findings if check else []) + differencing_findings(f),
        rows=check.rows if check else None,
        columns=check.columns if check else None,
        summary=check.summary if check else None,
        overlaps=[
            schema.Overlap.model_validate(o) for o in (f.differencing or {}).get("overlaps", [])
        ],
        reviews=[
            schema.Review(
                reviewer=r.reviewer.username,
                decision=r.decision,
                comment=r.comment,
                created_at=r.created_at,
            )
            for r in shown
        ],
        comments=[
            schema.Comment(author=c.author.username, text=c.text, created_at=c.created_at)
            for c in f.comments
        ],
    )


def differencing_findings(f: orm.ReleaseFile) -> list[schema.Finding]:
    """The findings of its comparison with the project's released tables
    (`release_differencing.py`), shown beside the pre-release rules' own."""
    found = (f.differencing or {}).get("findings", [])
    return [schema.Finding.model_validate(finding) for finding in found]


def dataset(row: orm.Dataset) -> schema.Dataset:
    return schema.Dataset(
        name=row.name,
        backend=row.backend.slug,
        description=row.description,
        owner=row.owner.slug,
        status=row.status,
        created_at=row.created_at,
        versions=[
            schema.DatasetVersion(
                version=v.version, manifest=v.manifest, dummy=v.dummy, created_at=v.created_at
            )
            for v in row.versions
        ],
    )


def dataset_access(row: orm.DatasetAccess) -> schema.AccessRequest:
    return schema.AccessRequest(
        id=row.id,
        project=row.project.slug,
        backend=row.dataset.backend.slug,
        dataset=row.dataset.name,
        purpose=row.purpose,
        versions=row.versions,
        state=effective_state(row),
        requested_by=row.requested_by.username,
        requested_at=row.requested_at,
        decided_by=row.decided_by.username if row.decided_by else None,
        decided_at=row.decided_at,
        reason=row.reason,
        until=row.until,
    )
