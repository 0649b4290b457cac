"""Release requests: asked for, seen, withdrawn, published.

A file is frozen at the sha256 its job recorded, and the backend's pre-release rules judge
it before any checker is asked. Output checkers review each file (`reviews.py`); an output
publisher, never the author, publishes the approved ones; only then does the backend's
runner upload them (`file_uploads.py`), and they are served by `released_files.py`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from ... import schema
from .. import orm, review
from ..audit import record
from ..callers import Caller
from ..errors import ProblemError
from ..events import emit_release
from ..permissions import Permission as P
from ..transitions import move
from ..views import release_rules
from .lookup import backend_named, workspace_named
from .projects import visible_projects


def can_see(caller: Caller, row: orm.Release) -> bool:
    """Unreleased outputs are for the project's developers and the checkers; released files
    for every member."""
    project, site = row.workspace.project, row.backend
    return caller.can(P.OUTPUTS_VIEW_UNRELEASED, project, site) or (
        row.state == "released" and caller.can(P.RELEASE_VIEW, project, site)
    )


def visible_releases(caller: Caller):
    """A condition on releases: those of the projects `caller` may view, and those at the
    sites that named `caller` a checker or publisher (`can_see` then judges each)."""
    projects = visible_projects(caller).with_only_columns(orm.Project.id)
    workspaces = select(orm.Workspace.id).where(orm.Workspace.project_id.in_(projects))
    condition = orm.Release.workspace_id.in_(workspaces)
    if sites := caller.sites(P.OUTPUTS_VIEW_UNRELEASED):
        condition = or_(condition, orm.Release.backend_id.in_(sites))
    return condition


def release_row(caller: Caller, session: Session, release_id: str) -> orm.Release:
    """The release, if `caller` may see it (not audited: `get_release` is the audited read)."""
    row = session.get(orm.Release, release_id)
    if row is None:
        raise ProblemError(404, f"there is no release {release_id!r}")
    if not can_see(caller, row):
        project, site = row.workspace.project.slug, row.backend.slug
        if caller.sites(P.OUTPUTS_VIEW_UNRELEASED):  # a site's checker, at another site
            raise ProblemError(
                403,
                f"{caller.name} may not see this release of project {project}: it leaves "
                f"{site}, and only {site}'s output checkers (or global ones) review it",
            )
        raise ProblemError(403, f"{caller.name} may not see this release of project {project}")
    return row


def get_release(session: Session, caller: Caller, release_id: str) -> orm.Release:
    """The release, its reading audited."""
    row = release_row(caller, session, release_id)
    record(session, caller.name, "release.view", row)
    session.commit()
    return row


def list_releases(
    session: Session,
    caller: Caller,
    *,
    workspace: str | None = None,
    backend: str | None = None,
    state: str | None = None,
    limit: int,
    before: str | None = None,
) -> list[orm.Release]:
    """Up to `limit + 1` releases of the projects `caller` may view, newest first, from
    before the id `before` (the faces page them, then keep those `can_see` allows)."""
    query = select(orm.Release).where(visible_releases(caller))
    if workspace:
        query = query.where(orm.Release.workspace_id == workspace_named(session, workspace).id)
    if backend:
        query = query.where(orm.Release.backend_id == backend_named(session, backend).id)
    if state:
        query = query.where(orm.Release.state == state)
    if before is not None:
        query = query.where(orm.Release.id < before)
    return list(session.scalars(query.order_by(orm.Release.id.desc()).limit(limit + 1)))


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


TABLES = (".csv", ".tsv")


def require_context(name: str, group: schema.ReleaseGroup, files: list[orm.ReleaseFile]) -> None:
    """Refuse a group a checker could not judge without the data: one with no context, or a
    table (or a file the rules flagged) with no statement of how small numbers were handled."""
    if not group.context.strip():
        raise ProblemError(
            422,
            f"the group {name!r} has no context: say what its files show — the population, "
            "the period, what each count counts — so a checker can judge them without the data",
        )
    if group.disclosure_control.strip():
        return
    tables = [f.path for f in files if f.path.lower().endswith(TABLES)]
    flagged = [f.path for f in files if _flagged(f)]
    if tables or flagged:
        what = f"a table ({tables[0]})" if tables else f"a file the rules flagged ({flagged[0]})"
        raise ProblemError(
            422,
            f"the group {name!r} holds {what} but no disclosure-control statement: say how "
            "small numbers were handled, e.g. counts of 7 or fewer suppressed, all counts "
            "rounded to the nearest 5",
        )


def _flagged(row: orm.ReleaseFile) -> bool:
    return any(f.get("verdict") == "flag" for f in (row.check or {}).get("findings", []))


def request_release(
    session: Session, caller: Caller, body: schema.ReleaseCreate, notifier: Any
) -> orm.Release:
    """A release request of a workspace's outputs, each frozen and judged; checkers are told."""
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
    for name, group in body.groups.items():
        require_context(name, group, [f for f in release.files if f.group == name])
    session.add(release)
    session.flush()
    record(
        session,
        caller.name,
        "release.request",
        release,
        after={"files": [f.path for f in release.files]},
    )
    notifier.release(session, release, "release.requested")
    emit_release(session, release)
    session.commit()
    return release


def withdraw(session: Session, caller: Caller, release_id: str, notifier: Any) -> orm.Release:
    """The author takes the request back: nothing of it will be published."""
    row = release_row(caller, session, release_id)
    caller.require(P.RELEASE_REQUEST, row.workspace.project)
    review.require_act("withdraw", row, caller.user.id)
    files = review.current(row)
    move(session, row, "withdrawn", actor=caller.name, action="release.withdraw", emit=False)
    for f in files:
        move(session, f, "withdrawn", actor=caller.name)
    notifier.release(session, row, "release.withdrawn")
    emit_release(session, row)
    session.commit()
    return row


def publish(
    session: Session, caller: Caller, release_id: str, required: int, notifier: Any
) -> orm.Release:
    """Release the approved files (`required` approving votes each): the backend's runner is
    then asked to upload them."""
    row = session.get(orm.Release, release_id)
    if row is None:
        raise ProblemError(404, f"there is no release {release_id!r}, or you may not see it")
    caller.require(P.RELEASE_PUBLISH, row.workspace.project, row.backend)
    review.require_act("publish", row, caller.user.id)
    approved = [f for f in row.files if f.state == "approved"]
    if not approved:
        raise ProblemError(
            409,
            f"no file has {required} approving reviews yet: nothing can be published",
        )
    for f in approved:
        move(session, f, "released", actor=caller.name)
    published = {"files": [f.path for f in approved]}
    if row.state != "released":
        move(
            session,
            row,
            "released",
            actor=caller.name,
            action="release.publish",
            audit=published,
            emit=False,
            published_by_id=caller.user.id,
            published_at=orm.utcnow(),
        )
    else:  # more approved files of a release published before: its state stays
        before = {"state": row.state}
        record(session, caller.name, "release.publish", row, before, {**before, **published})
    notifier.release(session, row, "release.released")
    emit_release(session, row)
    session.commit()
    return row
