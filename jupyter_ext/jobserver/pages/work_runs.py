"""A study run's page: its sites side by side, a grid of its actions by site with each job's
state, why a site waits, and cancelling all of it or one site's part.

A face of `services/runs.py`, shaped as the API shapes a run (`run_views.py`); live, while it
runs, through the same script and event stream as the job request's page.
"""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ... import schema
from ..deps import Caller, SessionDep
from ..permissions import Permission as P
from ..run_views import UNFINISHED, study_run
from ..services import runs
from . import form, page
from .auth import page_caller
from .render import render
from .work import attempt, live, see, text

DONE = {
    "cancelled": "Cancelled: pending jobs stopped now, running ones are asked to stop.",
    "cancelled-site": "That site's part is cancelled: its pending jobs stopped now, running "
    "ones are asked to stop. The other sites go on.",
}


def grid(run: schema.StudyRun) -> list[tuple[str, dict[str, schema.Job]]]:
    """Each action the run has a job for, with its job at each site. The rows follow the site
    with the most jobs (its plan's order: dependencies first), then any others' extras."""
    rows: dict[str, dict[str, schema.Job]] = {}
    for site in sorted(run.sites, key=lambda s: -len(s.job_request.jobs)):
        for job in site.job_request.jobs:
            rows.setdefault(job.action, {})[site.backend] = job
    return list(rows.items())


def _run_page(request, session, caller, run_id: str, problem=None, status=200):
    row = runs.viewable_run(session, caller, run_id)
    shown = study_run(row)
    running = shown.state in UNFINISHED
    return render(
        request,
        "work_run.html",
        caller,
        status=status,
        run=shown,
        workspace=row.workspace,
        grid=grid(shown),
        running=running,
        may_cancel=caller.can(P.JOB_CANCEL, row.workspace.project),
        problem=problem,
        done=DONE.get(request.query_params.get("done", "")),
        live=live(request, ["job"], run=shown.id) if running else None,
    )


@page("/runs/{run_id}", P.PROJECT_VIEW, "project")
def run_page(run_id: str, request: Request, session: SessionDep):
    return _run_page(request, session, page_caller(request, session), run_id)


@form("/runs/{run_id}/cancel")
def cancel_run(request: Request, session: Session, caller: Caller, fields: FormData, run_id: str):
    """The whole run, or one site's part of it when the form names its `backend`."""
    backend = text(fields, "backend") or None

    def cancel():
        runs.cancel_run(session, caller, run_id, backend)
        return see(request, f"runs/{run_id}", "cancelled-site" if backend else "cancelled")

    return attempt(
        session,
        cancel,
        lambda exc: _run_page(request, session, caller, run_id, exc.detail, exc.status),
    )
