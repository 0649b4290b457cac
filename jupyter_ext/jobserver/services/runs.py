"""Study runs: one submission at several sites, a job request at each, all at one commit.

Every site is checked and planned before anything is written (its own last states, its own
dataset of that name and its approval for this project), so a refusal at one site leaves
nothing behind at any. Each site's part is then an ordinary job request: its runner leases
its jobs, its log policy, its output checkers and its lease rules apply, and a site that
goes offline leaves the others running.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import schema
from .. import orm
from ..audit import record
from ..callers import Caller
from ..errors import ProblemError
from ..events import wake_backend
from ..permissions import Permission as P
from ..repos import RepositorySource
from ..security import Vault
from .job_requests import PlannedRequest, plan_at, read_commit, sent_before, write_job_request
from .jobs import cancel_jobs
from .lookup import backend_named, workspace_named
from .projects import visible_projects
from .workspaces import viewable_workspace


def sites_named(backends: list[str]) -> list[str]:
    """The sites, in the order given, refused if none or one twice."""
    if not backends:
        raise ProblemError(422, "name at least one backend to run at")
    if twice := sorted({b for b in backends if backends.count(b) > 1}):
        raise ProblemError(422, f"the backend {twice[0]} is named twice: name each site once")
    return list(backends)


def plan_run(
    session: Session,
    caller: Caller,
    body: schema.StudyRunCreate,
    repos: RepositorySource,
    vault: Vault,
) -> list[PlannedRequest]:
    """Each site's plan, writing nothing; refused, naming the site, if any site refuses."""
    sites = sites_named(body.backends)
    commit = read_commit(session, caller, body.workspace, body.sha, body.github_token, repos, vault)
    planned = []
    for site in sites:
        try:
            planned.append(
                plan_at(
                    session,
                    commit,
                    site,
                    body.actions,
                    body.force_run_dependencies,
                    repos,
                    parameters=body.parameters,
                    allow_nothing=len(sites) > 1,
                )
            )
        except ProblemError as exc:
            if len(sites) == 1:
                raise
            raise ProblemError(exc.status, f"at {site}: {exc.detail}", errors=exc.errors) from None
    if all(p.plan is None for p in planned):
        raise ProblemError(409, f"nothing to do at any site: {planned[0].nothing_to_do}")
    return planned


def create_run(
    session: Session,
    caller: Caller,
    body: schema.StudyRunCreate,
    repos: RepositorySource,
    vault: Vault,
    idempotency_key: str | None = None,
    *,
    schedule: orm.Schedule | None = None,
) -> tuple[orm.StudyRun, bool]:
    """The run and a job request at each site, and whether it is new: one sent again with the
    same idempotency key is the one made the first time."""
    workspace = workspace_named(session, body.workspace)
    caller.require(P.JOB_RUN, workspace.project)
    if earlier := sent_before(session, orm.StudyRun, caller, idempotency_key):
        return earlier, False
    planned = plan_run(session, caller, body, repos, vault)
    run = orm.StudyRun(
        workspace_id=workspace.id,
        sha=planned[0].sha,
        actions=body.actions,
        force_run_dependencies=body.force_run_dependencies,
        notify=body.notify,
        idempotency_key=idempotency_key,
        created_by_id=caller.user.id,
    )
    run.workspace, run.created_by = workspace, caller.user
    session.add(run)
    session.flush()
    token = vault.encrypt(body.github_token) if body.github_token else None
    for site in planned:
        write_job_request(
            session,
            caller,
            site,
            actions=body.actions,
            force_run_dependencies=body.force_run_dependencies,
            notify=body.notify,
            github_token=token,
            parameters=body.parameters,
            study_run=run,
            schedule=schedule,
        )
    session.refresh(run, ["job_requests"])
    after = {"actions": body.actions, "sites": {r.backend.slug: r.id for r in run.job_requests}}
    record(session, caller.name, "study_run.create", run, after=after)
    session.commit()
    return run, True


def _run(session: Session, run_id: str) -> orm.StudyRun:
    row = session.get(orm.StudyRun, run_id)
    if row is None:
        raise ProblemError(404, f"there is no study run {run_id!r}, or you may not see it")
    return row


def viewable_run(session: Session, caller: Caller, run_id: str) -> orm.StudyRun:
    row = _run(session, run_id)
    viewable_workspace(session, caller, row.workspace.name)
    return row


def list_runs(
    session: Session,
    caller: Caller,
    *,
    workspace: str | None = None,
    before: str | None = None,
    limit: int,
) -> list[orm.StudyRun]:
    """Runs of the projects the caller may view, newest first, older than `before`."""
    projects = visible_projects(caller).with_only_columns(orm.Project.id)
    workspaces = select(orm.Workspace.id).where(orm.Workspace.project_id.in_(projects))
    query = select(orm.StudyRun).where(orm.StudyRun.workspace_id.in_(workspaces))
    if workspace:
        query = query.where(orm.StudyRun.workspace_id == workspace_named(session, workspace).id)
    if before is not None:
        query = query.where(orm.StudyRun.id < before)
    return list(session.scalars(query.order_by(orm.StudyRun.id.desc()).limit(limit)))


def cancel_run(
    session: Session, caller: Caller, run_id: str, backend: str | None = None
) -> orm.StudyRun:
    """Every unfinished job of the run, or of one site's part of it (`backend`)."""
    row = _run(session, run_id)
    caller.require(P.JOB_CANCEL, row.workspace.project)
    parts = row.job_requests
    if backend is not None:
        site = backend_named(session, backend)
        parts = [r for r in parts if r.backend_id == site.id]
        if not parts:
            raise ProblemError(404, f"the run {row.id} does not run at {backend}")
    jobs = [job for part in parts for job in part.jobs]
    if not cancel_jobs(session, caller, jobs):
        where = f" at {backend}" if backend else ""
        raise ProblemError(409, f"nothing to cancel{where}: every job of this run has finished")
    for part in parts:
        wake_backend(session, part.backend_id)
    session.commit()
    return row
