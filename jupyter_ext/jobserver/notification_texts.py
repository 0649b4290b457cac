"""What a notification says: the mail's subject and text, and the webhook's JSON.

Written from the rows of the change that causes it (`notifications.py` decides who hears
of what, and when it is sent).
"""

from __future__ import annotations

from typing import Any

from . import orm
from .run_views import run_state
from .views import job_request_state


def link(public_url: str, path: str) -> str:
    return f"{public_url.rstrip('/')}/api/v1/{path}" if public_url else f"/api/v1/{path}"


def job_request_text(request: orm.JobRequest, public_url: str) -> tuple[str, str]:
    state = job_request_state(request.jobs)
    lines = [
        f"Your job request {request.id} in the workspace {request.workspace.name} on "
        f"{request.backend.slug} has ended: {state}.",
        "",
        *(
            f"  {j.action}: {j.state}" + (f" ({j.status_message})" if j.status_message else "")
            for j in request.jobs
        ),
        "",
        f"Details: {link(public_url, f'job-requests/{request.id}')}",
    ]
    subject = f"[jupyter-ext] {request.workspace.name}: job request {state}"
    return subject, "\n".join(lines) + "\n"


def job_request_json(request: orm.JobRequest) -> dict[str, Any]:
    return {
        "job_request": request.id,
        "workspace": request.workspace.name,
        "backend": request.backend.slug,
        "state": job_request_state(request.jobs),
        "jobs": {j.identifier: j.state for j in request.jobs},
    }


def run_text(run: orm.StudyRun, public_url: str) -> tuple[str, str]:
    """One digest of every site's part of a study run."""
    sites = sorted(run.job_requests, key=lambda r: r.backend.slug)
    states = {r.backend.slug: job_request_state(r.jobs) for r in sites}
    state = run_state(list(states.values()))
    lines = [
        f"Your study run {run.id} in the workspace {run.workspace.name} at "
        f"{len(sites)} site{'s' if len(sites) != 1 else ''} has ended: {state}.",
    ]
    for request in sites:
        lines += ["", f"{request.backend.slug}: {states[request.backend.slug]}"]
        lines += [
            f"  {j.action}: {j.state}" + (f" ({j.status_message})" if j.status_message else "")
            for j in request.jobs
        ]
    lines += ["", f"Details: {link(public_url, f'runs/{run.id}')}"]
    subject = f"[jupyter-ext] {run.workspace.name}: study run {state}"
    return subject, "\n".join(lines) + "\n"


def run_json(run: orm.StudyRun) -> dict[str, Any]:
    states = {r.backend.slug: job_request_state(r.jobs) for r in run.job_requests}
    return {
        "run": run.id,
        "workspace": run.workspace.name,
        "state": run_state(list(states.values())),
        "sites": {
            r.backend.slug: {"job_request": r.id, "state": states[r.backend.slug]}
            for r in run.job_requests
        },
    }


WHAT = {
    "release.requested": "was requested by {author}: it waits for output checkers",
    "release.reviewed": "has been reviewed: every file has its decision",
    "release.released": "has been published: its approved files are released",
    "release.rejected": "was rejected",
    "release.withdrawn": "was withdrawn by {author}",
    "release.updated": "has a new version of a file from {author}: it waits for review",
}


def release_text(release: orm.Release, event: str, public_url: str) -> tuple[str, str]:
    what = WHAT[event].format(author=release.created_by.username)
    files = [f"  {f.path}" for f in release.files]
    body = "\n".join(
        [
            f"The release {release.id} of the workspace {release.workspace.name} "
            f"({len(release.files)} file{'s' if len(release.files) != 1 else ''}) {what}.",
            "",
            *files,
            "",
            f"Details: {link(public_url, f'releases/{release.id}')}",
        ]
    )
    subject = f"[jupyter-ext] {release.workspace.name}: release {event.split('.')[1]}"
    return subject, body + "\n"


def release_json(release: orm.Release, event: str) -> dict[str, Any]:
    return {
        "release": release.id,
        "workspace": release.workspace.name,
        "backend": release.backend.slug,
        "state": release.state,
    }
