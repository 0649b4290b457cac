"""Job requests: validated against project.yaml at a commit, planned into jobs, cancelled.

The run-jobs page's plan and the submission are one function (`plan_job_request`), so the
plan shown is the plan run; `create_job_request` writes it as pending jobs and wakes the
backend's runners.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import schema
from ...pipeline import (
    NothingToDoError,
    Pipeline,
    Plan,
    PlanningError,
    check_pipeline,
    plan_jobs,
)
from ...schema.states import JobState
from .. import orm, views
from ..audit import record
from ..callers import Caller
from ..errors import ProblemError
from ..events import emit, wake_backend
from ..permissions import Permission as P
from ..repos import RepositorySource
from ..security import Vault
from .jobs import cancel_jobs
from .limits import check_quota
from .lookup import backend_named, project_named, workspace_named
from .notebook_parameters import NotebookValues, notebook_values
from .plan_files import datasets_read, resources_asked
from .projects import visible_projects
from .workspaces import (
    branch_head,
    last_states,
    read_project_yaml,
    viewable_workspace,
)
from .workspaces import github_token as github_token_for


def job_identifier(job_request_id: str, action: str) -> str:
    """Short, stable and unique: from the request and the action, as the official runner does."""
    digest = hashlib.sha1(f"{job_request_id}\n{action}".encode()).digest()
    return base64.b32encode(digest[:10]).decode().lower()


def _refuse_invalid_project(problems: list) -> ProblemError:
    lines = "; ".join(p.format("project.yaml") for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return ProblemError(
        422,
        f"project.yaml is not valid at this commit: {lines}{more}",
        errors=[p.to_json() for p in problems],
    )


@dataclass
class Commit:
    """What holds at every site a submission names: the workspace, the commit and its
    project.yaml, read and validated once."""

    workspace: orm.Workspace
    sha: str
    text: str  # project.yaml at `sha`
    pipeline: Pipeline
    token: str | None
    notebooks: dict = field(default_factory=dict)  # path -> NotebookInfo, read once


@dataclass
class PlannedRequest:
    """What a job request would create at one backend, before anything is written."""

    commit: Commit
    backend: orm.Backend
    plan: Plan | None  # the jobs in order with why each runs; None: nothing to do there
    datasets: dict[str, list[str]]  # per planned action: "name" or "name@version"
    nothing_to_do: str = ""  # why, when `plan` is None
    notebooks: NotebookValues = field(default_factory=NotebookValues)  # its notebooks' values
    # per planned action that asks for any (resources.yaml): what it asked for
    resources: dict[str, schema.JobResources] = field(default_factory=dict)

    @property
    def workspace(self) -> orm.Workspace:
        return self.commit.workspace

    @property
    def pipeline(self) -> Pipeline:
        return self.commit.pipeline

    @property
    def sha(self) -> str:
        return self.commit.sha


def read_commit(
    session: Session,
    caller: Caller,
    workspace_name: str,
    sha: str | None,
    github_token: str | None,
    repos: RepositorySource,
    vault: Vault,
) -> Commit:
    """The workspace (if the caller may run jobs in it) and its project.yaml at `sha` (the
    branch head if None), refused if it is not valid."""
    workspace = workspace_named(session, workspace_name)
    caller.require(P.JOB_RUN, workspace.project)
    if workspace.archived:
        raise ProblemError(409, f"the workspace {workspace.name} is archived: unarchive it first")
    token = github_token_for(vault, caller, github_token)
    sha = sha or branch_head(repos, workspace, token)
    text = read_project_yaml(repos, workspace, sha, token)
    pipeline, problems, _ = check_pipeline(text, "project.yaml")
    if pipeline is None:
        raise _refuse_invalid_project(problems)
    return Commit(workspace, sha, text, pipeline, token)


def plan_at(
    session: Session,
    commit: Commit,
    backend_slug: str,
    actions: list[str],
    force_run_dependencies: bool,
    repos: RepositorySource,
    *,
    parameters: dict[str, dict[str, Any]] | None = None,
    allow_nothing: bool = False,
) -> PlannedRequest:
    """The jobs `actions` need at one backend: planned against that backend's own last states,
    checked against its dataset approvals, each notebook with its parameters (`parameters`:
    a submission's overrides per action). With `allow_nothing`, a backend where every action
    is done already is planned as nothing to do rather than refused."""
    workspace = commit.workspace
    backend = backend_named(session, backend_slug)
    if backend not in workspace.project.org.backends:
        raise ProblemError(
            422,
            f"the organisation {workspace.project.org.slug} may not use the backend "
            f"{backend.slug}: ask an administrator to allow it",
        )
    states = {a: s for (_, a), s in last_states(session, workspace.id, backend.id).items()}
    try:
        plan = plan_jobs(
            commit.pipeline, actions, states, force_run_dependencies=force_run_dependencies
        )
    except NothingToDoError as exc:
        if allow_nothing:
            return PlannedRequest(commit, backend, None, {}, nothing_to_do=str(exc))
        raise ProblemError(409, f"nothing to do: {exc}") from None
    except PlanningError as exc:
        raise ProblemError(422, str(exc)) from None
    if long := [job.action for job in plan.jobs if len(job.action) > 200]:
        raise ProblemError(422, f"the action name {long[0][:40]}… is too long: keep names to 200")
    datasets = datasets_read(repos, session, commit, backend, plan)
    resources = resources_asked(repos, commit, backend, plan)
    notebooks = notebook_values(repos, commit, plan, parameters or {})
    return PlannedRequest(commit, backend, plan, datasets, notebooks=notebooks, resources=resources)


def plan_job_request(
    session: Session,
    caller: Caller,
    body: schema.JobRequestCreate,
    repos: RepositorySource,
    vault: Vault,
) -> PlannedRequest:
    """Check a job request and plan its jobs, writing nothing: the submission and the run-jobs
    page's plan shown before submitting are this one function."""
    commit = read_commit(session, caller, body.workspace, body.sha, body.github_token, repos, vault)
    return plan_at(
        session,
        commit,
        body.backend,
        body.actions,
        body.force_run_dependencies,
        repos,
        parameters=body.parameters,
    )


def create_job_request(
    session: Session,
    caller: Caller,
    body: schema.JobRequestCreate,
    repos: RepositorySource,
    vault: Vault,
    idempotency_key: str | None = None,
    *,
    schedule: orm.Schedule | None = None,
) -> tuple[orm.JobRequest, bool]:
    """The request and its pending jobs, and whether it is new: a request sent again with the
    same idempotency key is the one made the first time. `schedule`: the one firing it."""
    workspace = workspace_named(session, body.workspace)
    caller.require(P.JOB_RUN, workspace.project)
    if earlier := sent_before(session, orm.JobRequest, caller, idempotency_key):
        return earlier, False
    planned = plan_job_request(session, caller, body, repos, vault)
    job_request = write_job_request(
        session,
        caller,
        planned,
        actions=body.actions,
        force_run_dependencies=body.force_run_dependencies,
        notify=body.notify,
        github_token=vault.encrypt(body.github_token) if body.github_token else None,
        parameters=body.parameters,
        idempotency_key=idempotency_key,
        schedule=schedule,
    )
    session.commit()
    return job_request, True


def sent_before(session: Session, table, caller: Caller, idempotency_key: str | None):
    """The request (or run) `caller` made with this idempotency key, if any."""
    if not idempotency_key:
        return None
    return session.scalar(
        select(table).where(
            table.created_by_id == caller.user.id, table.idempotency_key == idempotency_key
        )
    )


def write_job_request(
    session: Session,
    caller: Caller,
    planned: PlannedRequest,
    *,
    actions: list[str],
    force_run_dependencies: bool,
    notify: bool,
    github_token: bytes | None,  # encrypted: a token given for this request only
    parameters: dict[str, dict[str, Any]] | None = None,  # the overrides it was given
    idempotency_key: str | None = None,
    study_run: orm.StudyRun | None = None,
    schedule: orm.Schedule | None = None,
) -> orm.JobRequest:
    """The request and its pending jobs, audited, announced and its backend's runners woken;
    not committed (the caller commits it with whatever else it writes). Refused before
    anything is written if its jobs would take the project over its jobs-per-day quota."""
    workspace, backend, commit = planned.workspace, planned.backend, planned.commit
    check_quota(session, workspace.project, backend, len(planned.plan.jobs if planned.plan else []))
    job_request = orm.JobRequest(
        workspace_id=workspace.id,
        backend_id=backend.id,
        sha=commit.sha,
        actions=actions,
        force_run_dependencies=force_run_dependencies,
        notify=notify,
        project_yaml=commit.text,
        created_by_id=caller.user.id,
        idempotency_key=idempotency_key,
        github_token=github_token,  # a saved one is read when a job is leased
        study_run_id=study_run.id if study_run else None,
        parameters=parameters or {},
        schedule_id=schedule.id if schedule else None,
    )
    job_request.workspace, job_request.backend = workspace, backend
    job_request.warnings = tuple(planned.notebooks.warnings)
    job_request.created_by = caller.user
    session.add(job_request)
    session.flush()
    jobs = planned.plan.jobs if planned.plan else []
    identifiers = {job.action: job_identifier(job_request.id, job.action) for job in jobs}
    active = _active_jobs(session, workspace.id, backend.id)
    for job in jobs:
        action = planned.pipeline.actions[job.action]
        session.add(
            orm.Job(
                identifier=identifiers[job.action],
                job_request_id=job_request.id,
                workspace_id=workspace.id,
                backend_id=backend.id,
                created_by_id=caller.user.id,
                action=job.action,
                run=action.run.raw,
                needs=list(job.needs),
                wait_for=[identifiers.get(n) or active[n] for n in job.wait_for],
                outputs_spec=action.outputs.to_json(),
                requires_db=job.requires_db,
                datasets=planned.datasets.get(job.action, []),
                parameters=planned.notebooks.values.get(job.action, {}),
                resources=_stored(planned.resources.get(job.action)),
                status_message=f"waiting for a runner ({job.reason})",
            )
        )
    session.flush()
    session.refresh(job_request, ["jobs"])
    after = {"actions": actions, "jobs": list(identifiers.values())}
    if study_run is not None:
        after["run"] = study_run.id
    record(session, caller.name, "job_request.create", job_request, after=after)
    _announce(session, job_request)
    if jobs:
        wake_backend(session, backend.id)
    return job_request


def _stored(resources: schema.JobResources | None) -> dict[str, Any] | None:
    return resources.model_dump(mode="json", exclude_none=True) if resources else None


def _announce(session: Session, job_request: orm.JobRequest) -> None:
    """The new request and each of its jobs, to everyone watching its workspace."""
    shown = views.job_request(job_request)
    where = {
        "workspace": job_request.workspace,
        "backend": job_request.backend,
        "job_request_id": job_request.id,
    }
    emit(session, "job_request", shown.model_dump(mode="json", exclude={"jobs"}), **where)
    for job in shown.jobs:
        emit(session, "job", job.model_dump(mode="json"), **where)


def _active_jobs(session: Session, workspace_id: int, backend_id: int) -> dict[str, str]:
    """{action: identifier} of the pending and running jobs new jobs may wait for."""
    rows = session.execute(
        select(orm.Job.action, orm.Job.identifier)
        .where(
            orm.Job.workspace_id == workspace_id,
            orm.Job.backend_id == backend_id,
            orm.Job.state.in_((JobState.PENDING, JobState.RUNNING)),
        )
        .order_by(orm.Job.id)
    )
    return dict(rows.all())


def list_job_requests(
    session: Session,
    caller: Caller,
    *,
    workspace: str | None = None,
    project: str | None = None,
    backend: str | None = None,
    user: str | None = None,
    before: str | None = None,
    limit: int,
) -> list[orm.JobRequest]:
    """Job requests of the projects the caller may view, newest first, older than `before`."""
    projects = visible_projects(caller).with_only_columns(orm.Project.id)
    workspaces = select(orm.Workspace.id).where(orm.Workspace.project_id.in_(projects))
    query = select(orm.JobRequest).where(orm.JobRequest.workspace_id.in_(workspaces))
    if workspace:
        query = query.where(orm.JobRequest.workspace_id == workspace_named(session, workspace).id)
    if project:
        in_project = select(orm.Workspace.id).where(
            orm.Workspace.project_id == project_named(session, project).id
        )
        query = query.where(orm.JobRequest.workspace_id.in_(in_project))
    if backend:
        query = query.where(orm.JobRequest.backend_id == backend_named(session, backend).id)
    if user:
        query = query.join(orm.User, orm.User.id == orm.JobRequest.created_by_id).where(
            orm.User.username == user
        )
    if before is not None:
        query = query.where(orm.JobRequest.id < before)
    return list(session.scalars(query.order_by(orm.JobRequest.id.desc()).limit(limit)))


def _job_request(session: Session, job_request_id: str) -> orm.JobRequest:
    row = session.get(orm.JobRequest, job_request_id)
    if row is None:
        raise ProblemError(
            404, f"there is no job request {job_request_id!r}, or you may not see it"
        )
    return row


def viewable_job_request(session: Session, caller: Caller, job_request_id: str) -> orm.JobRequest:
    row = _job_request(session, job_request_id)
    viewable_workspace(session, caller, row.workspace.name)
    return row


def cancel_job_request(session: Session, caller: Caller, job_request_id: str) -> orm.JobRequest:
    """Every job of the request that has not finished: see `jobs.cancel_jobs`."""
    row = _job_request(session, job_request_id)
    caller.require(P.JOB_CANCEL, row.workspace.project)
    if not cancel_jobs(session, caller, list(row.jobs)):
        raise ProblemError(409, "nothing to cancel: every job of this request has finished")
    wake_backend(session, row.backend_id)
    session.commit()
    return row
