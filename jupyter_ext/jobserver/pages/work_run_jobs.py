"""Running jobs (the user guide's step 9): the actions at the branch head, the plan, the
submission. One backend ticked is a job request; two or more are a study run, whose plan is
each site's plan side by side (`services/runs.py`). Beside the plan: what each job asks to run
with (resources.yaml), the project's quota and cap at each site (`services.limits.read_quota`)
and, when its jobs would go over the quota, the submission's own refusal instead of its button.

The forms and helpers are those of `work.py`; the rules are the API's (`services/`).
"""

from __future__ import annotations

import json
import re
import secrets

from fastapi import Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from ... import schema
from ...pipeline import RUN_ALL
from ..deps import Caller, SessionDep
from ..errors import ProblemError
from ..permissions import Permission as P
from ..repos import RepositoryError
from ..services import job_requests, limits, runs, workspaces
from . import form, page
from .auth import page_caller
from .render import render
from .work import attempt, body, see, text, texts, workspace_at

SHA = re.compile(r"^[0-9a-f]{40}$")


def _selection(wanted: schema.JobRequestCreate | schema.StudyRunCreate) -> str:
    """What a plan was made for: running asks that the plan shown is the plan run (one site
    is named as a string, several as a list, so going from one to two is a change)."""
    sites = wanted.backend if isinstance(wanted, schema.JobRequestCreate) else wanted.backends
    return json.dumps([sorted(wanted.actions), sites, wanted.force_run_dependencies, wanted.sha])


def _sites_ticked(fields: FormData | None, backends: list[str]) -> list[str]:
    """The backends ticked; before any plan was asked for, the first one (the simple case)."""
    ticked = texts(fields, "backend") if fields is not None else []
    if not ticked and (fields is None or text(fields, "intent") in ("", "list")):
        return backends[:1]
    return ticked


def _run_jobs(
    request,
    session,
    caller,
    row,
    fields=None,
    *,
    plans=None,
    quotas=None,
    planned_for="",
    problem=None,
    errors=None,
    status=200,
):
    """The run-jobs page: the actions of project.yaml with their last states and, once asked,
    the plan at each site ticked; `fields` are the form's, sent again."""
    token = (text(fields, "github_token") or None) if fields is not None else None
    sha = text(fields, "sha") if fields is not None else ""
    actions = unreadable = None
    try:
        state = request.app.state
        actions = workspaces.list_actions(
            session,
            caller,
            row.name,
            state.repos,
            state.vault,
            sha if SHA.match(sha) else None,
            token,
        )
    except ProblemError as exc:
        if exc.status in (401, 403):
            raise
        unreadable = exc.detail
    try:
        needs_token = request.app.state.repos.needs_token(row.repo)
    except RepositoryError:
        needs_token = False
    backends = sorted(b.slug for b in row.project.org.backends)
    chosen = {
        "actions": set(texts(fields, "action")) if fields is not None else set(),
        "backends": set(_sites_ticked(fields, backends)),
        "force": fields is not None and "force_run_dependencies" in fields,
        "notify": "notify" in fields if fields is not None else True,
    }
    return render(
        request,
        "work_run_jobs.html",
        caller,
        status=status,
        workspace=row,
        actions=actions,
        unreadable=unreadable,
        needs_token=needs_token,
        saved_token=caller.user.github_token is not None,
        backends=backends,
        chosen=chosen,
        plans=plans,
        quotas=quotas or [],
        refused=any(q.refusal for q in quotas or []),
        planned_for=planned_for,
        problem=problem,
        errors=errors or [],
        idempotency_key=secrets.token_urlsafe(18),
        may_run=caller.can(P.JOB_RUN, row.project),
        run_all=RUN_ALL,
    )


@page("/{org}/{project}/{workspace}/run-jobs", P.PROJECT_VIEW, "project")
def run_jobs_page(org: str, project: str, workspace: str, request: Request, session: SessionDep):
    caller = page_caller(request, session)
    return _run_jobs(
        request, session, caller, workspace_at(caller, session, org, project, workspace)
    )


def _wanted(row, fields: FormData) -> schema.JobRequestCreate | schema.StudyRunCreate:
    """The API's request body: a job request for one backend ticked, else a study run (whose
    service says why none, or one twice, cannot run)."""
    sites = texts(fields, "backend")
    common = {
        "workspace": row.name,
        "actions": texts(fields, "action"),
        "sha": text(fields, "sha") or None,
        "force_run_dependencies": "force_run_dependencies" in fields,
        "notify": "notify" in fields,
        "github_token": text(fields, "github_token") or None,
    }
    if len(sites) == 1:
        return body(schema.JobRequestCreate, backend=sites[0], **common)
    return body(schema.StudyRunCreate, backends=sites, **common)


def _quota(session: Session, site: job_requests.PlannedRequest) -> limits.Quota:
    """The project's cap and quota at the site, and whether this plan's jobs would go over the
    quota: the submission refuses with the same sentence."""
    jobs = len(site.plan.jobs) if site.plan else 0
    return limits.read_quota(session, site.workspace.project, site.backend, jobs)


@form("/{org}/{project}/{workspace}/run-jobs")
def run_jobs(
    request: Request,
    session: Session,
    caller: Caller,
    fields: FormData,
    org: str,
    project: str,
    workspace: str,
):
    """`intent` says what the button asked: `list` the actions (with a token given once),
    `plan` the selection, or `run` the plan shown (a changed selection is planned first)."""
    row = workspace_at(caller, session, org, project, workspace)
    intent = text(fields, "intent")

    def again(exc: ProblemError, **more):
        return _run_jobs(
            request,
            session,
            caller,
            row,
            fields,
            problem=exc.detail,
            errors=exc.errors,
            status=exc.status,
            **more,
        )

    if intent == "list":
        return _run_jobs(request, session, caller, row, fields)
    try:
        wanted = _wanted(row, fields)
    except ProblemError as exc:
        return again(exc)
    many = isinstance(wanted, schema.StudyRunCreate)
    state = request.app.state
    if intent == "run" and text(fields, "planned_for") == _selection(wanted):
        key = text(fields, "idempotency_key")[:200] or None  # a second click: the same request

        def submit():
            if many:
                run, _ = runs.create_run(session, caller, wanted, state.repos, state.vault, key)
                return see(request, f"runs/{run.id}")
            made, _ = job_requests.create_job_request(
                session, caller, wanted, state.repos, state.vault, key
            )
            return see(request, f"job-requests/{made.id}")

        return attempt(session, submit, again)

    def show_plan():
        if many:
            planned = runs.plan_run(session, caller, wanted, state.repos, state.vault)
        else:
            planned = [
                job_requests.plan_job_request(session, caller, wanted, state.repos, state.vault)
            ]
        changed = intent == "run"  # asked to run, but not what the plan shown was for
        quotas = [_quota(session, site) for site in planned]
        return _run_jobs(
            request,
            session,
            caller,
            row,
            fields,
            plans=planned,
            quotas=quotas,
            planned_for=_selection(wanted),
            problem="the selection changed since the plan was shown: here is its plan; run it "
            "if it is what you want"
            if changed
            else None,
            status=409 if any(q.refusal for q in quotas) else 200,
        )

    return attempt(session, show_plan, again)
