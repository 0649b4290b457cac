"""Release requests, output checkers' reviews, publication, and released files.

A file is frozen at the sha256 its job recorded. Two output checkers vote
independently (neither sees the other's vote until both have voted; the author
never votes); an output publisher publishes approved files; only then does the
backend's runner upload them, and a file whose bytes do not match is refused.
Released files are served so that nothing in them can run in the page.
"""

from __future__ import annotations

import mimetypes
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import schema
from ...schema.releases import Decision
from .. import orm
from ..audit import record
from ..deps import Caller, CallerDep, SessionDep, permission
from ..errors import ProblemError
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..states import advance
from ._common import backend_named, workspace_named
from .projects import visible_projects

router = APIRouter(tags=["releases"])
files_router = APIRouter(tags=["releases"])  # /api/v2, the read-only file address
VIEWABLE = {".csv", ".txt", ".log", ".json", ".md", ".png", ".jpg", ".jpeg", ".svg", ".html"}


def file_state(row: orm.ReleaseFile, required: int) -> str:
    """A file's review, decided by its votes: a majority of `required` settles it."""
    if row.state == "released":
        return "released"
    votes = [r.decision for r in row.reviews]
    counts = {d: votes.count(d.value) for d in Decision}
    if len(votes) < required:
        return "in_review" if votes else "requested"
    best = max(counts.values())
    leaders = [d for d, n in counts.items() if n == best]
    if len(leaders) > 1:
        return "in_review"  # a tie: another checker breaks it
    return {
        Decision.APPROVE: "approved",
        Decision.REJECT: "rejected",
        Decision.REQUEST_CHANGES: "changes_requested",
    }[leaders[0]]


def _settled(row: orm.Release, required: int) -> bool:
    """Whether every file of the release has its review decided."""
    return all(file_state(f, required) not in ("requested", "in_review") for f in row.files)


def can_see_unreleased(caller: Caller, project: orm.Project) -> bool:
    return caller.can(P.OUTPUTS_VIEW_UNRELEASED, project)


def release_view(caller: Caller, row: orm.Release, required: int) -> schema.Release:
    files = []
    for f in row.files:
        state = file_state(f, required)
        voted = any(r.reviewer_id == caller.user.id for r in f.reviews)
        settled = state not in ("requested", "in_review")
        shown = f.reviews if (voted or settled) else []
        files.append(schema.ReleaseFile(
            id=f.id, group=f.group, path=f.path, job=f.job.identifier, sha256=f.sha256,
            size=f.size, state=state, uploaded=f.uploaded_at is not None,
            reviews=[schema.Review(reviewer=r.reviewer.username, decision=r.decision,
                                   comment=r.comment, created_at=r.created_at) for r in shown],
        ))  # fmt: skip
    return schema.Release(
        id=row.id, workspace=row.workspace.name, backend=row.backend.slug, state=row.state,
        groups=row.groups, created_by=row.created_by.username, created_at=row.created_at,
        published_at=row.published_at, files=files,
    )  # fmt: skip


def _release(caller: Caller, session: Session, release_id: str) -> orm.Release:
    row = session.get(orm.Release, release_id)
    if row is None:
        raise ProblemError(404, f"there is no release {release_id!r}")
    project = row.workspace.project
    if not (
        can_see_unreleased(caller, project)
        or (row.state == "released" and caller.can(P.RELEASE_VIEW, project))
    ):
        raise ProblemError(403, f"{caller.name} may not see this release of project {project.slug}")
    return row


@router.post("/releases", status_code=201, openapi_extra=permission(P.RELEASE_REQUEST, "project"))
def request_release(
    body: schema.ReleaseCreate, request: Request, caller: CallerDep, session: SessionDep
) -> schema.Release:
    workspace = workspace_named(session, body.workspace)
    caller.require(P.RELEASE_REQUEST, workspace.project)
    backend = backend_named(session, body.backend)
    release = orm.Release(workspace_id=workspace.id, backend_id=backend.id,
                          created_by_id=caller.user.id)  # fmt: skip
    release.workspace, release.backend, release.created_by = workspace, backend, caller.user
    release.groups = {
        name: {"context": g.context, "disclosure_control": g.disclosure_control}
        for name, g in body.groups.items()
    }
    seen = set()
    for name, group in body.groups.items():
        for wanted in group.files:
            output = _frozen_output(session, workspace, backend, wanted)
            if (wanted.job, wanted.path) in seen:
                raise ProblemError(422, f"{wanted.path} of job {wanted.job} is asked for twice")
            seen.add((wanted.job, wanted.path))
            release.files.append(orm.ReleaseFile(
                job_id=output.job_id, group=name, path=output.path, sha256=output.sha256,
                size=output.size,
            ))  # fmt: skip
    session.add(release)
    session.flush()
    record(session, caller.name, "release.request", release,
           after={"files": [f.path for f in release.files]})  # fmt: skip
    request.app.state.notifier.release(session, release, "release.requested")
    session.commit()
    return release_view(caller, release, request.app.state.settings.required_approvals)


def _frozen_output(session, workspace, backend, wanted) -> orm.JobOutput:
    job = session.scalar(select(orm.Job).where(orm.Job.identifier == wanted.job))
    if job is None or job.workspace_id != workspace.id or job.backend_id != backend.id:
        raise ProblemError(422, f"the workspace has no job {wanted.job!r} on {backend.slug}")
    if job.state != "succeeded":
        raise ProblemError(422, f"the job {wanted.job} has not succeeded: only outputs of "
                                "succeeded jobs can be released")  # fmt: skip
    output = session.get(orm.JobOutput, (job.id, wanted.path))
    if output is None:
        raise ProblemError(422, f"the job {wanted.job} recorded no output {wanted.path!r}")
    if output.privacy_level != "moderately_sensitive":
        raise ProblemError(
            422, f"{wanted.path} is {output.privacy_level}: only moderately_sensitive outputs "
            "can be released; highly sensitive ones never leave the backend",
        )  # fmt: skip
    return output


@router.get("/releases", openapi_extra=permission(P.SIGNED_IN))
def list_releases(
    request: Request, caller: CallerDep, session: SessionDep, workspace: str | None = None,
    state: str | None = None, limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.Release]:  # fmt: skip
    projects = visible_projects(caller).with_only_columns(orm.Project.id)
    workspaces = select(orm.Workspace.id).where(orm.Workspace.project_id.in_(projects))
    query = select(orm.Release).where(orm.Release.workspace_id.in_(workspaces))
    if workspace:
        query = query.where(orm.Release.workspace_id == workspace_named(session, workspace).id)
    if state:
        query = query.where(orm.Release.state == state)
    if (before := decode_cursor(cursor, str)) is not None:
        query = query.where(orm.Release.id < before)
    rows = session.scalars(query.order_by(orm.Release.id.desc()).limit(limit + 1)).all()
    items, next_url = page(request, rows, limit, lambda r: r.id)
    required = request.app.state.settings.required_approvals
    visible = [
        r for r in items
        if can_see_unreleased(caller, r.workspace.project)
        or (r.state == "released" and caller.can(P.RELEASE_VIEW, r.workspace.project))
    ]  # fmt: skip
    return schema.Page(items=[release_view(caller, r, required) for r in visible], next=next_url)


@router.get(  # a released one also to those with release_view
    "/releases/{release_id}", openapi_extra=permission(P.OUTPUTS_VIEW_UNRELEASED, "project")
)
def get_release(
    release_id: str, request: Request, caller: CallerDep, session: SessionDep
) -> schema.Release:
    row = _release(caller, session, release_id)
    record(session, caller.name, "release.view", row)
    session.commit()
    return release_view(caller, row, request.app.state.settings.required_approvals)


@router.post("/releases/{release_id}/files/{file_id}/reviews", status_code=201,
             openapi_extra=permission(P.RELEASE_REVIEW, "project"))  # fmt: skip
def review_file(
    release_id: str, file_id: str, body: schema.ReviewCreate, request: Request,
    caller: CallerDep, session: SessionDep,
) -> schema.Release:  # fmt: skip
    row = session.get(orm.Release, release_id)
    if row is None:
        raise ProblemError(404, f"there is no release {release_id!r}, or you may not see it")
    caller.require(P.RELEASE_REVIEW, row.workspace.project)
    if row.created_by_id == caller.user.id:
        raise ProblemError(403, "you asked for this release, so you may not review it")
    if row.state != "requested":
        raise ProblemError(409, f"the release is {row.state}: its review has ended")
    target = next((f for f in row.files if f.id == file_id), None)
    if target is None:
        raise ProblemError(404, f"the release has no file {file_id!r}")
    if any(r.reviewer_id == caller.user.id for r in target.reviews):
        raise ProblemError(409, "you have voted on this file already")
    required = request.app.state.settings.required_approvals
    was_settled = _settled(row, required)
    review = orm.Review(release_file_id=target.id, reviewer_id=caller.user.id,
                        decision=body.decision.value, comment=body.comment)  # fmt: skip
    review.reviewer = caller.user
    session.add(review)
    target.reviews.append(review)
    target.state = file_state(target, required)
    record(session, caller.name, "release_file.review", target,
           after={"decision": body.decision.value, "state": target.state})  # fmt: skip
    if not was_settled and _settled(row, required):
        request.app.state.notifier.release(session, row, "release.reviewed")
    session.commit()
    return release_view(caller, row, required)


@router.post("/releases/{release_id}/publish",
             openapi_extra=permission(P.RELEASE_PUBLISH, "project"))  # fmt: skip
def publish(
    release_id: str, request: Request, caller: CallerDep, session: SessionDep
) -> schema.Release:
    """Release the approved files: the backend's runner is then asked to upload them."""
    row = session.get(orm.Release, release_id)
    if row is None:
        raise ProblemError(404, f"there is no release {release_id!r}, or you may not see it")
    caller.require(P.RELEASE_PUBLISH, row.workspace.project)
    required = request.app.state.settings.required_approvals
    approved = [f for f in row.files if file_state(f, required) == "approved"]
    if not approved:
        raise ProblemError(
            409, f"no file has {required} approving reviews yet: nothing can be published",
        )  # fmt: skip
    before = {"state": row.state}
    row.state = advance("release", row.state, "approved")
    row.state = advance("release", row.state, "released")
    row.published_by_id, row.published_at = caller.user.id, orm.utcnow()
    for f in approved:
        f.state = "released"
    record(session, caller.name, "release.publish", row, before,
           {"state": row.state, "files": [f.path for f in approved]})  # fmt: skip
    request.app.state.notifier.release(session, row, "release.released")
    session.commit()
    return release_view(caller, row, required)


@files_router.get("/releases/file/{file_id}", openapi_extra=permission(P.RELEASE_VIEW, "project"))
def released_file(file_id: str, request: Request, caller: CallerDep, session: SessionDep):
    """A released file, served so nothing in it can run: sandboxed, never sniffed."""
    row = session.get(orm.ReleaseFile, file_id)
    if row is None or row.deleted_at is not None:
        raise ProblemError(404, f"there is no released file {file_id!r}")
    caller.require(P.RELEASE_VIEW, row.release.workspace.project)
    if row.state != "released" or row.uploaded_at is None:
        raise ProblemError(409, "the file is not released yet, or its backend has not sent it")
    record(session, caller.name, "release_file.view", row)
    session.commit()
    path = stored_path(request.app.state.settings.release_dir, row.sha256)
    suffix = Path(row.path).suffix.lower()
    media_type = mimetypes.types_map.get(suffix, "application/octet-stream")
    headers = {"Content-Security-Policy": "sandbox", "X-Content-Type-Options": "nosniff"}
    disposition = "inline" if suffix in VIEWABLE else "attachment"
    return FileResponse(
        path,
        media_type=media_type,
        headers=headers,
        filename=Path(row.path).name,
        content_disposition_type=disposition,
    )


@files_router.get("/releases/{release_id}/zip", openapi_extra=permission(P.RELEASE_VIEW, "project"))
def released_zip(release_id: str, request: Request, caller: CallerDep, session: SessionDep):
    """The release's released and uploaded files as one zip, streamed as it is written.

    Each file is audited as a download (one `release_file.download` row per file, naming
    the release), before the first byte goes out. The zip is stored, not deflated: deflating
    costs a server core per download (about 35 MB/s at level 6, 170 MB/s at level 1, for CSV
    text) while storing goes as fast as the disk, and the archive is only a container.
    """
    row = session.get(orm.Release, release_id)
    if row is None:
        raise ProblemError(404, f"there is no release {release_id!r}")
    caller.require(P.RELEASE_VIEW, row.workspace.project)
    files = [
        f for f in row.files
        if f.state == "released" and f.uploaded_at is not None and f.deleted_at is None
    ]  # fmt: skip
    if row.state != "released" or not files:
        raise ProblemError(409, "the release is not released yet, or its backend has sent none "
                                "of its files")  # fmt: skip
    release_dir = request.app.state.settings.release_dir
    names = entry_names(files)
    entries = [
        (names[f.id], stored_path(release_dir, f.sha256), f.uploaded_at.timetuple()[:6])
        for f in files
    ]
    for f in files:
        record(session, caller.name, "release_file.download", f, after={"zip": row.id})
    session.commit()
    headers = {
        "Content-Disposition": f'attachment; filename="release-{row.id}.zip"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox",
    }
    # a plain generator: Starlette runs each step in its thread pool, off the event loop
    return StreamingResponse(zip_stream(entries), media_type="application/zip", headers=headers)


def entry_names(files: Iterable[orm.ReleaseFile]) -> dict[str, str]:
    """Each file's name in the zip: its path in the release, relative and without `..`.

    A path that two jobs' files share is put under each job's identifier.
    """
    clean = {
        f.id: "/".join(p for p in PurePosixPath(f.path).parts if p not in ("/", ".", ".."))
        for f in files
    }
    taken = list(clean.values())
    return {
        f.id: f"{f.job.identifier}/{clean[f.id]}" if taken.count(clean[f.id]) > 1 else clean[f.id]
        for f in files
    }


ZIP_CHUNK = 1 << 20  # read, written and sent a mebibyte at a time


class ZipSink:
    """A write-only stream for `zipfile.ZipFile` that keeps what is written until drained.

    It cannot seek, so the zip is written sequentially (sizes in data descriptors after each
    entry); `tell` gives the offsets for the central directory. `peak` is the most it held.
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._held = 0
        self._position = 0
        self.peak = 0

    def write(self, data) -> int:
        data = bytes(data)
        self._parts.append(data)
        self._held += len(data)
        self._position += len(data)
        self.peak = max(self.peak, self._held)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        self._parts.clear()
        self._held = 0
        return data


def zip_stream(
    entries: Iterable[tuple[str, Path, tuple[int, ...]]], chunk: int = ZIP_CHUNK,
    sink: ZipSink | None = None,
) -> Iterator[bytes]:  # fmt: skip
    """The zip of `entries` (name, file, date_time), a chunk at a time: it never holds more
    than a chunk of a file and the zip's headers around it."""
    sink = sink or ZipSink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, path, date_time in entries:
            with path.open("rb") as source:
                info = zipfile.ZipInfo(name, date_time=date_time)
                info.file_size = path.stat().st_size  # sets zip64 for entries over 4 GB
                info.external_attr = 0o644 << 16
                with zf.open(info, "w") as target:
                    while block := source.read(chunk):
                        target.write(block)
                        if data := sink.drain():
                            yield data
            if data := sink.drain():
                yield data
    if data := sink.drain():
        yield data


def stored_path(release_dir: str, sha256: str) -> Path:
    """Released bytes live by their hash: the same content is stored once and never changes."""
    return Path(release_dir) / sha256[:2] / sha256
