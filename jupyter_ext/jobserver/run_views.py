"""A study run as the API shows it: each site's part side by side, and the run as far as its
least finished site. Nothing stores a run's state: it is read from its jobs."""

from __future__ import annotations

import datetime as dt

from .. import schema
from . import orm, views
from .views import ONLINE_WITHIN, job_request_state

UNFINISHED = ("pending", "running")


def run_state(states: list[str]) -> str:
    """Running while any site runs; then failed if any failed, cancelled if any was, and
    succeeded when every site succeeded (or had nothing to do)."""
    if any(s in UNFINISHED for s in states):
        started = any(s not in ("pending",) for s in states)
        return "running" if started else "pending"
    if "failed" in states:
        return "failed"
    if "cancelled" in states:
        return "cancelled"
    if states and all(s == "nothing_to_do" for s in states):
        return "nothing_to_do"
    return "succeeded"


def ago(then: dt.datetime | None, now: dt.datetime) -> str:
    """'last seen 12 minutes ago', as a person says it."""
    if then is None:
        return "never seen"
    seconds = max(0, int((now - then).total_seconds()))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"last seen {count} {unit}{'s' if count != 1 else ''} ago"
    return f"last seen {seconds} seconds ago"


def site_message(request: orm.JobRequest, state: str, online: bool, now: dt.datetime) -> str:
    """Why a site waits or failed, in a phrase or two; '' when its state says it all."""
    backend, said = request.backend, []
    if state in UNFINISHED and not online:
        said.append(f"waiting for {backend.slug}: {ago(backend.last_seen_at, now)}")
    if failed := next((j for j in request.jobs if j.state == "failed"), None):
        said.append(f"{failed.action} failed: {failed.status_message}".rstrip(": "))
    if state == "nothing_to_do":
        said.append("nothing to do: its actions had run, or were running, there already")
    return "; ".join(said)


def run_site(request: orm.JobRequest, now: dt.datetime) -> schema.RunSite:
    backend = request.backend
    online = backend.last_seen_at is not None and now - backend.last_seen_at < ONLINE_WITHIN
    state = job_request_state(request.jobs)
    return schema.RunSite(
        backend=backend.slug,
        state=state,
        message=site_message(request, state, online, now),
        online=online,
        last_seen_at=backend.last_seen_at,
        job_request=views.job_request(request),
    )


def study_run(row: orm.StudyRun, now: dt.datetime | None = None) -> schema.StudyRun:
    now = now or orm.utcnow()
    sites = sorted((run_site(r, now) for r in row.job_requests), key=lambda s: s.backend)
    state = run_state([s.state for s in sites])
    summary = ", ".join(f"{s.backend} {s.state.value.replace('_', ' ')}" for s in sites)
    if waiting := [s.message for s in sites if s.message.startswith("waiting for")]:
        summary += "; " + "; ".join(waiting)
    return schema.StudyRun(
        id=row.id,
        workspace=row.workspace.name,
        project=row.workspace.project.slug,
        sha=row.sha,
        actions=row.actions,
        force_run_dependencies=row.force_run_dependencies,
        notify=row.notify,
        state=state,
        summary=summary,
        created_by=row.created_by.username,
        created_at=row.created_at,
        sites=sites,
    )
