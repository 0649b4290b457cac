"""The job request's cancel, the job and its log, and the event log.

The forms and helpers are those of `work.py`; the rules are the API's (`services/jobs.py`).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ...schema.states import JobState
from .. import orm, views
from ..deps import Caller, SessionDep
from ..errors import ProblemError
from ..pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor
from ..pagination import page as page_of
from ..permissions import Permission as P
from ..services import job_requests, jobs
from ..states import FINISHED_JOB_STATES
from . import form, page
from .auth import page_caller
from .render import render
from .work import attempt, live, notice, older, path_of, see

LOG_LINES = 5_000  # lines of a job's log in one page; later ones are a link away
EVENT_FILTERS = ("q", "status", "workspace", "backend", "user", "job_request", "run")


@form("/job-requests/{job_request_id}/cancel")
def cancel_job_request(
    request: Request, session: Session, caller: Caller, fields: FormData, job_request_id: str
):
    job_requests.cancel_job_request(session, caller, job_request_id)
    return see(request, f"job-requests/{job_request_id}", "cancelled")


def _job(request, session, caller, identifier, problem=None, status=200):
    row = jobs.job_for(session, caller, identifier)
    found = views.job(row)
    after = request.query_params.get("after", "-1")
    after = int(after) if after.lstrip("-").isdigit() and -1 <= int(after) < 2**31 else -1
    lines = [views.log_line(r) for r in jobs.log_lines(session, row, after, LOG_LINES)]
    project = row.job_request.workspace.project  # unreleased outputs: only to those who may
    see_outputs = caller.can(P.OUTPUTS_VIEW_UNRELEASED, project)
    outputs = (
        [views.output(r) for r in jobs.outputs(session, caller, identifier)]
        if see_outputs
        else None
    )
    return render(
        request,
        "work_job.html",
        caller,
        status=status,
        job=found,
        row=row,
        workspace=row.job_request.workspace,
        lines=lines,
        after=after,
        more=len(lines) == LOG_LINES,
        outputs=outputs,
        problem=problem,
        done=notice(request),
        finished=found.state in FINISHED_JOB_STATES,
        may_request_release=caller.can(P.RELEASE_REQUEST, row.job_request.workspace.project),
        live=live(request, ["job", "log"], job_request=found.job_request),
    )


@page("/jobs/{identifier}", P.PROJECT_VIEW, "project")
def job_page(identifier: str, request: Request, session: SessionDep):
    return _job(request, session, page_caller(request, session), identifier)


@form("/jobs/{identifier}/cancel")
def cancel_job(
    request: Request, session: Session, caller: Caller, fields: FormData, identifier: str
):
    def cancel():
        jobs.cancel_job(session, caller, identifier)
        return see(request, f"jobs/{identifier}", "cancelled")

    return attempt(
        session,
        cancel,
        lambda exc: _job(request, session, caller, identifier, exc.detail, exc.status),
    )


# -- the event log ------------------------------------------------------------------------------


@page("/event-log", P.SIGNED_IN)
def event_log_page(request: Request, session: SessionDep):
    """Jobs newest first with the API's filters, as a GET form; the API's cursor pages."""
    caller = page_caller(request, session)
    query = request.query_params
    values = {name: query.get(name, "").strip() for name in EVENT_FILTERS}
    cursor = query.get("cursor") or None
    limit = query.get("limit", str(DEFAULT_LIMIT))
    items, next_url, problem, status = [], None, None, 200
    if values["status"] and values["status"] not in set(JobState):
        problem = f"the state is one of {', '.join(JobState)}, or any"
    elif len(values["q"]) > 200:
        problem = "search with at most 200 characters"
    elif not limit.isdigit() or not 1 <= int(limit) <= MAX_LIMIT:
        problem = f"show from 1 to {MAX_LIMIT} jobs a page"
    if problem:
        status = 422
    else:
        try:
            ids = jobs.event_log(
                session,
                caller,
                q=values["q"] or None,
                job_request=values["job_request"] or None,
                run=values["run"] or None,
                backend=values["backend"] or None,
                status=JobState(values["status"]) if values["status"] else None,
                user=values["user"] or None,
                workspace=values["workspace"] or None,
                before=decode_cursor(cursor),
                limit=int(limit) + 1,
            )
            ids, next_url = page_of(request, ids, int(limit), lambda i: i)
            items = [views.job(j) for j in jobs.jobs_by_id(session, ids)]
        except ProblemError as exc:
            if exc.status in (401, 403):
                raise
            problem, status = exc.detail, exc.status
    names = {j.workspace for j in items}
    places = (
        {
            w.name: path_of(w)
            for w in session.scalars(select(orm.Workspace).where(orm.Workspace.name.in_(names)))
        }
        if names
        else {}
    )
    return render(
        request,
        "work_event_log.html",
        caller,
        status=status,
        jobs=items,
        values=values,
        problem=problem,
        places=places,
        older=older(next_url),
        first=cursor is None,
        states=list(JobState),
        filtered=any(values.values()),
        newest=f"?{urlencode({k: v for k, v in values.items() if v})}",
        live=live(
            request,
            ["job"],
            workspace=values["workspace"],
            backend=values["backend"],
            job_request=values["job_request"],
        )
        if not problem
        else None,
    )
