"""Database rows as the API's wire models (jupyter_ext.schema)."""

from __future__ import annotations

import datetime as dt

from .. import schema
from . import orm

ONLINE_WITHIN = dt.timedelta(seconds=90)


def user(row: orm.User) -> schema.User:
    return schema.User(
        username=row.username,
        fullname=row.fullname,
        email=row.email,
        roles=row.roles or [],
        has_github_token=row.github_token is not None,
        created_at=row.created_at,
    )


def api_token(row: orm.ApiToken) -> schema.ApiToken:
    return schema.ApiToken(
        id=row.id,
        name=row.name,
        prefix=row.prefix,
        scope=row.scope,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        expires_at=row.expires_at,
    )


def org(row: orm.Org) -> schema.Org:
    return schema.Org(
        slug=row.slug,
        name=row.name,
        backends=[b.slug for b in row.backends],
        created_at=row.created_at,
    )


def backend(row: orm.Backend, now: dt.datetime | None = None) -> schema.Backend:
    now = now or orm.utcnow()
    online = row.last_seen_at is not None and now - row.last_seen_at < ONLINE_WITHIN
    return schema.Backend(
        slug=row.slug,
        name=row.name,
        log_policy=row.log_policy,
        online=online,
        last_seen_at=row.last_seen_at,
        runner_version=row.runner_version,
        executor=row.executor,
        capacity=row.capacity if online else None,
        release_rules=release_rules(row),
        resource_limits=resource_limits(row),
        created_at=row.created_at,
    )


def site_member(row: orm.BackendMember) -> schema.BackendMember:
    return schema.BackendMember(
        backend=row.backend.slug,
        username=row.user.username,
        roles=row.roles,
        created_at=row.created_at,
    )


def release_rules(row: orm.Backend) -> schema.ReleaseRules:
    """The rules its runner last reported, else the defaults (the site enforces its own)."""
    return schema.ReleaseRules.model_validate(row.release_rules or {})


def resource_limits(row: orm.Backend) -> schema.ResourceLimits | None:
    """The defaults and maximums its runner last reported; None before it has."""
    if row.resource_limits is None:
        return None
    return schema.ResourceLimits.model_validate(row.resource_limits)


def application(row: orm.Application) -> schema.Application:
    return schema.Application(
        id=row.id,
        study_name=row.study_name,
        org=row.org.slug,
        purpose=row.purpose,
        data=row.data,
        backends=row.backends,
        people=row.people,
        state=row.state,
        created_by=row.created_by.username,
        created_at=row.created_at,
        reviewed_by=row.reviewed_by.username if row.reviewed_by else None,
        reviewed_at=row.reviewed_at,
        reason=row.reason,
        project=row.project.slug if row.project else None,
    )


def project(row: orm.Project) -> schema.Project:
    return schema.Project(
        slug=row.slug,
        name=row.name,
        number=row.number,
        org=row.org.slug,
        status=row.status,
        created_at=row.created_at,
    )


def member(row: orm.ProjectMember) -> schema.Member:
    return schema.Member(username=row.user.username, roles=row.roles, created_at=row.created_at)


def workspace(row: orm.Workspace) -> schema.Workspace:
    return schema.Workspace(
        name=row.name,
        project=row.project.slug,
        repo=row.repo,
        branch=row.branch,
        notifications=row.notifications,
        archived=row.archived,
        created_by=row.created_by.username,
        created_at=row.created_at,
    )


def job(row: orm.Job, request: orm.JobRequest | None = None) -> schema.Job:
    request = request or row.job_request
    return schema.Job(
        identifier=row.identifier,
        job_request=row.job_request_id,
        workspace=request.workspace.name,
        backend=request.backend.slug,
        action=row.action,
        state=row.state,
        status_message=row.status_message,
        exit_code=row.exit_code,
        needs=row.needs,
        wait_for=row.wait_for,
        runner=row.runner,
        parameters=row.parameters or {},
        resources=row.resources,
        cancelled_by=row.cancelled_by.username if row.cancelled_by else None,
        created_at=row.created_at,
        started_at=row.started_at,
        completed_at=row.completed_at,
        usage=job_usage(row),
    )


def job_usage(row: orm.Job) -> schema.JobUsage | None:
    """What the job used, if its runner said (kept figures were checked when they came)."""
    if row.wall_seconds is None:
        return None
    return schema.JobUsage(
        cpu_seconds=row.cpu_seconds,
        wall_seconds=row.wall_seconds,
        peak_memory_bytes=row.peak_memory_bytes,
        bytes_written=row.bytes_written,
    )


def log_line(row: orm.LogLine) -> schema.LogLine:
    return schema.LogLine(seq=row.seq, text=row.text, at=row.at)


def output(row: orm.JobOutput) -> schema.Output:
    return schema.Output(
        path=row.path,
        size=row.size,
        sha256=row.sha256,
        privacy_level=row.privacy_level,
        check=row.check,
    )


def job_request_state(jobs: list[orm.Job]) -> str:
    """A request is as far as its least finished job, and failed if any job failed."""
    states = {j.state for j in jobs}
    if not states:
        return "nothing_to_do"
    if "running" in states:
        return "running"
    if "pending" in states:
        return "running" if states - {"pending"} else "pending"
    if "failed" in states:
        return "failed"
    if states == {"cancelled"}:
        return "cancelled"
    return "succeeded" if "succeeded" in states else "cancelled"


def job_request(
    row: orm.JobRequest, *, with_jobs: bool = True, with_yaml: bool = False
) -> schema.JobRequest:
    return schema.JobRequest(
        id=row.id,
        workspace=row.workspace.name,
        project=row.workspace.project.slug,
        backend=row.backend.slug,
        sha=row.sha,
        actions=row.actions,
        force_run_dependencies=row.force_run_dependencies,
        notify=row.notify,
        state=job_request_state(row.jobs),
        created_by=row.created_by.username,
        created_at=row.created_at,
        jobs=[job(j, row) for j in row.jobs] if with_jobs else [],
        project_yaml=row.project_yaml if with_yaml else None,
        run=row.study_run_id,
        schedule=row.schedule_id,
        parameters=row.parameters or {},
        warnings=list(row.warnings),
    )
