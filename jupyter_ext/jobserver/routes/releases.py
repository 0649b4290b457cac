"""Release requests: asked for, seen, withdrawn, published.

A file is frozen at the sha256 its job recorded, and the backend's pre-release rules judge
it before any checker is asked. Output checkers review each file (`reviews.py`); an output
publisher, never the author, publishes the approved ones; only then does the backend's
runner upload them (`runner.py`), and they are served from `released_files.py`.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import schema
from .. import orm, review
from ..audit import record
from ..deps import Caller, CallerDep, SessionDep, permission
from ..errors import ProblemError
from ..events import emit_release
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..states import advance
from ..views import release_rules
from ._common import backend_named, workspace_named
from .projects import visible_projects

router = APIRouter(tags=["releases"])


def can_see(caller: Caller, row: orm.Release) -> bool:
    """Unreleased outputs are for the project's developers and the checkers; released files
    for every member."""
    project = row.workspace.project
    return caller.can(P.OUTPUTS_VIEW_UNRELEASED, project) or (
        row.state == "released" and caller.can(P.RELEASE_VIEW, project)
    )


def release_view(caller: Caller, row: orm.Release, required: int) -> schema.Release:
    unreleased = caller.can(P.OUTPUTS_VIEW_UNRELEASED, row.workspace.project)
    files = [
        file_view(caller, f, required)
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


def file_view(caller: Caller, f: orm.ReleaseFile, required: int) -> schema.ReleaseFile:
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
        findings=check.findings if check else [],
        rows=check.rows if check else None,
        columns=check.columns if check else None,
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


def release_row(caller: Caller, session: Session, release_id: str) -> orm.Release:
    row = session.get(orm.Release, release_id)
    if row is None:
        raise ProblemError(404, f"there is no release {release_id!r}")
    if not can_see(caller, row):
        raise ProblemError(
            403, f"{caller.name} may not see this release of project {row.workspace.project.slug}"
        )
    return row


def frozen_file(
    session: Session, release: orm.Release, wanted: schema.ReleaseFileRequest, group: str
) -> orm.ReleaseFile:
    """The output `wanted` names, frozen at its recorded hash, if the rules let it be asked for."""
    job = session.scalar(select(orm.Job).where(orm.Job.identifier == wanted.job))
    backend = release.backend
    if job is None or job.workspace_id != release.workspace_id or job.backend_id != backend.id:
        raise ProblemError(422, f"the workspace has no job {wanted.job!r} on {backend.slug}")
    if job.state != "succeeded":
        raise ProblemError(
            422,
            f"the job {wanted.job} has not succeeded: only outputs of "
            "succeeded jobs can be released",
        )
    output = session.get(orm.JobOutput, (job.id, wanted.path))
    if output is None:
        raise ProblemError(422, f"the job {wanted.job} recorded no output {wanted.path!r}")
    if output.privacy_level != "moderately_sensitive":
        raise ProblemError(
            422,
            f"{wanted.path} is {output.privacy_level}: only moderately_sensitive outputs "
            "can be released; highly sensitive ones never leave the backend",
        )
    check = _judged(output, release_rules(backend))
    if check.refused:
        reasons = "; ".join(f.message for f in check.findings if f.verdict == "refuse")
        raise ProblemError(
            422, f"{wanted.path} fails {backend.slug}'s pre-release rules: {reasons}"
        )
    return orm.ReleaseFile(
        job_id=job.id,
        group=group,
        path=output.path,
        sha256=output.sha256,
        size=output.size,
        check=check.model_dump(mode="json"),
    )


def _judged(output: orm.JobOutput, rules: schema.ReleaseRules) -> schema.FileCheck:
    """What the site found when the job ended, and what the name and size say under the
    backend's rules now (a site that never checked the content is checked again on upload)."""
    recorded = schema.FileCheck.model_validate(output.check) if output.check else None
    return schema.check_recorded(output.path, output.size, recorded, rules)


@router.post("/releases", status_code=201, openapi_extra=permission(P.RELEASE_REQUEST, "project"))
def request_release(
    body: schema.ReleaseCreate, request: Request, caller: CallerDep, session: SessionDep
) -> schema.Release:
    workspace = workspace_named(session, body.workspace)
    caller.require(P.RELEASE_REQUEST, workspace.project)
    release = orm.Release(
        workspace_id=workspace.id,
        created_by_id=caller.user.id,
        groups={
            name: {"context": g.context, "disclosure_control": g.disclosure_control}
            for name, g in body.groups.items()
        },
    )
    release.workspace, release.created_by = workspace, caller.user
    release.backend = backend_named(session, body.backend)
    wanted = [(name, f) for name, group in body.groups.items() for f in group.files]
    twice = {(f.job, f.path) for _, f in wanted if sum(1 for _, g in wanted if g == f) > 1}
    if twice:
        job, path = sorted(twice)[0]
        raise ProblemError(422, f"{path} of job {job} is asked for twice")
    release.files = [frozen_file(session, release, f, name) for name, f in wanted]
    session.add(release)
    session.flush()
    record(
        session,
        caller.name,
        "release.request",
        release,
        after={"files": [f.path for f in release.files]},
    )
    request.app.state.notifier.release(session, release, "release.requested")
    emit_release(session, release)
    session.commit()
    return release_view(caller, release, request.app.state.settings.required_approvals)


@router.get("/releases", openapi_extra=permission(P.SIGNED_IN))
def list_releases(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    workspace: str | None = None,
    state: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> schema.Page[schema.Release]:
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
    return schema.Page(
        items=[release_view(caller, r, required) for r in items if can_see(caller, r)],
        next=next_url,
    )


@router.get(  # a released one also to those with release_view
    "/releases/{release_id}", openapi_extra=permission(P.OUTPUTS_VIEW_UNRELEASED, "project")
)
def get_release(
    release_id: str, request: Request, caller: CallerDep, session: SessionDep
) -> schema.Release:
    row = release_row(caller, session, release_id)
    record(session, caller.name, "release.view", row)
    session.commit()
    return release_view(caller, row, request.app.state.settings.required_approvals)


@router.post(
    "/releases/{release_id}/withdraw", openapi_extra=permission(P.RELEASE_REQUEST, "owner")
)
def withdraw(
    release_id: str, request: Request, caller: CallerDep, session: SessionDep
) -> schema.Release:
    """The author takes the request back: nothing of it will be published."""
    row = release_row(caller, session, release_id)
    caller.require(P.RELEASE_REQUEST, row.workspace.project)
    review.require_act("withdraw", row, caller.user.id)
    row.state = advance("release", row.state, "withdrawn")
    for f in review.current(row):
        f.state = advance("release_file", f.state, "withdrawn")
    record(
        session, caller.name, "release.withdraw", row, {"state": "requested"}, {"state": row.state}
    )
    request.app.state.notifier.release(session, row, "release.withdrawn")
    emit_release(session, row)
    session.commit()
    return release_view(caller, row, request.app.state.settings.required_approvals)


@router.post(
    "/releases/{release_id}/publish", openapi_extra=permission(P.RELEASE_PUBLISH, "project")
)
def publish(
    release_id: str, request: Request, caller: CallerDep, session: SessionDep
) -> schema.Release:
    """Release the approved files: the backend's runner is then asked to upload them."""
    row = session.get(orm.Release, release_id)
    if row is None:
        raise ProblemError(404, f"there is no release {release_id!r}, or you may not see it")
    caller.require(P.RELEASE_PUBLISH, row.workspace.project)
    review.require_act("publish", row, caller.user.id)
    required = request.app.state.settings.required_approvals
    approved = [f for f in row.files if f.state == "approved"]
    if not approved:
        raise ProblemError(
            409,
            f"no file has {required} approving reviews yet: nothing can be published",
        )
    before = {"state": row.state}
    if row.state != "released":
        row.state = advance("release", row.state, "released")
        row.published_by_id, row.published_at = caller.user.id, orm.utcnow()
    for f in approved:
        f.state = advance("release_file", f.state, "released")
    record(
        session,
        caller.name,
        "release.publish",
        row,
        before,
        {"state": row.state, "files": [f.path for f in approved]},
    )
    request.app.state.notifier.release(session, row, "release.released")
    emit_release(session, row)
    session.commit()
    return release_view(caller, row, required)
