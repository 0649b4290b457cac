"""The pages themselves: each asks the domain functions the API asks (`services/`) and renders
their answer, shaped as the API shapes it (`jobserver/views.py`)."""

from __future__ import annotations

import csv
from pathlib import PurePosixPath

from fastapi import Request
from sqlalchemy.orm import Session

from ...notebook_html import notebook_cells
from ...schema.states import FileState
from .. import orm, release_views, review_copies, views
from ..deps import SessionDep
from ..errors import ProblemError
from ..permissions import Permission as P
from ..run_views import study_run
from ..services import (
    job_requests,
    orgs,
    projects,
    released_files,
    releases,
    reviews,
    runs,
    workspaces,
)
from . import page, waiting
from .auth import page_caller
from .project import project_answer
from .render import render
from .reviewing import DONE as REVIEW_DONE
from .work_schedules import workspace_schedules

TABLE_ROWS_SHOWN = 500  # a released table longer than this shows its first rows and says so
TEXT_SHOWN = 200_000  # characters of a released text file shown in the page
IMAGES = {".png", ".jpg", ".jpeg", ".svg"}
TEXTS = {".txt", ".md", ".log", ".json", ".html"}
RUNS_SHOWN = 5  # a workspace's latest study runs; its job requests list each site's part


def _release_workspace(release: orm.Release, org: str, project: str, workspace: str):
    """The release's workspace, if the address is its own (the caller may see the release:
    a site's own checker sees it without seeing the rest of the project)."""
    row = release.workspace
    if (row.name, row.project.slug, row.project.org.slug) != (workspace, project, org):
        raise ProblemError(404, f"the workspace {org}/{project}/{workspace} has no such release")
    return row


def _workspace(caller, session: Session, org: str, project: str, workspace: str):
    """The workspace the address names, if the caller may see it and the address is its own."""
    row = workspaces.viewable_workspace(session, caller, workspace)
    if row.project.slug != project or row.project.org.slug != org:
        raise ProblemError(404, f"there is no workspace {org}/{project}/{workspace}")
    return row


def _recent(caller, session: Session, limit: int = 5, **where):
    """The newest job requests the caller may see (of a workspace, or by a user)."""
    rows = job_requests.list_job_requests(
        session, caller, workspace=where.get("workspace"), user=where.get("user"), limit=limit
    )
    return [views.job_request(r) for r in rows]


@page("/", P.SIGNED_IN)
def home(request: Request, session: SessionDep):
    caller = page_caller(request, session)
    rows = workspaces.list_workspaces(session, caller, archived=False, limit=100)
    visible = session.scalars(projects.visible_projects(caller).order_by(orm.Project.name))
    addable = [p for p in visible.all()[:50] if caller.can(P.WORKSPACE_MANAGE, p)]
    return render(
        request,
        "home.html",
        caller,
        workspaces=rows,
        addable=addable,
        job_requests=_recent(caller, session, user=caller.name),
        reviewer=caller.can(P.RELEASE_REVIEW) or bool(caller.sites(P.RELEASE_REVIEW)),
        to_review=waiting.to_review(session, caller),
        publisher=caller.can(P.RELEASE_PUBLISH) or bool(caller.sites(P.RELEASE_PUBLISH)),
        to_publish=waiting.to_publish(session, caller),
        now=orm.utcnow(),
    )


@page("/job-requests/{job_request_id}", P.PROJECT_VIEW, "project")
def job_request_page(job_request_id: str, request: Request, session: SessionDep):
    caller = page_caller(request, session)
    row = job_requests.viewable_job_request(session, caller, job_request_id)
    found = views.job_request(row, with_yaml=True)
    return render(
        request,
        "job_request.html",
        caller,
        job_request=found,
        row=row,
        yaml_lines=(found.project_yaml or "").splitlines(),
    )


@page("/{org}", P.SIGNED_IN)
def org_page(org: str, request: Request, session: SessionDep):
    caller = page_caller(request, session)
    row = views.org(orgs.get_org(session, org))
    found = projects.list_projects(session, caller, org, limit=100)
    return render(request, "org.html", caller, org=row, projects=[views.project(p) for p in found])


@page("/{org}/{project}", P.PROJECT_VIEW, "project")
def project_page(org: str, project: str, request: Request, session: SessionDep):
    return project_answer(request, session, page_caller(request, session), org, project)


@page("/{org}/{project}/{workspace}", P.PROJECT_VIEW, "project")
def workspace_page(org: str, project: str, workspace: str, request: Request, session: SessionDep):
    caller = page_caller(request, session)
    row = _workspace(caller, session, org, project, workspace)
    recent = _recent(caller, session, limit=20, workspace=workspace)
    found = runs.list_runs(session, caller, workspace=workspace, limit=RUNS_SHOWN)
    shown = [study_run(r) for r in found]
    return render(
        request,
        "workspace.html",
        caller,
        workspace=row,
        job_requests=recent,
        runs=shown,
        **workspace_schedules(request, caller, session, row),
    )


@page("/{org}/{project}/{workspace}/releases", P.PROJECT_VIEW, "project")
def releases_page(org: str, project: str, workspace: str, request: Request, session: SessionDep):
    caller = page_caller(request, session)
    row = _workspace(caller, session, org, project, workspace)
    found = releases.list_releases(session, caller, workspace=workspace, limit=100)[:100]
    required = request.app.state.settings.required_approvals
    shown = [
        release_views.release(caller, r, required) for r in found if releases.can_see(caller, r)
    ]
    return render(request, "releases.html", caller, workspace=row, releases=shown)


# a released one; one under review asks OUTPUTS_VIEW_UNRELEASED, as the API does
@page("/{org}/{project}/{workspace}/releases/{release_id}", P.RELEASE_VIEW, "project")
def release_page(
    org: str, project: str, workspace: str, release_id: str, request: Request, session: SessionDep
):
    caller = page_caller(request, session)
    got = releases.get_release(session, caller, release_id)
    row = _release_workspace(got, org, project, workspace)
    release = release_views.release(caller, got, request.app.state.settings.required_approvals)
    author = release.created_by == caller.name
    files = session.get(orm.Release, release_id).files
    return render(
        request,
        "release.html",
        caller,
        workspace=row,
        release=release,
        author=author,
        review_copies={f.id for f in files if review_copies.may_open(caller, f)},
        can_review=caller.can(P.RELEASE_REVIEW, row.project, got.backend) and not author,
        can_publish=caller.can(P.RELEASE_PUBLISH, row.project, got.backend) and not author,
        can_comment=caller.can(P.OUTPUTS_VIEW_UNRELEASED, row.project, got.backend),
        sees_project=caller.can(P.PROJECT_VIEW, row.project),
        done=REVIEW_DONE.get(request.query_params.get("done", "")),
    )


@page(
    "/{org}/{project}/{workspace}/releases/{release_id}/files/{file_id}", P.RELEASE_VIEW, "project"
)
def released_file_page(
    org: str,
    project: str,
    workspace: str,
    release_id: str,
    file_id: str,
    request: Request,
    session: SessionDep,
):
    """A released file in the page, or, for its output checkers, one under review (its
    review copy): a table, an image (sandboxed, from the file address), or text, escaped.
    Anything else is offered as a download. Every view is audited."""
    caller = page_caller(request, session)
    found = session.get(orm.ReleaseFile, file_id)
    if found is None or found.release_id != release_id:
        raise ProblemError(404, f"the release {release_id} has no file {file_id}")
    row = _release_workspace(found.release, org, project, workspace)  # each path below checks
    settings = request.app.state.settings
    released = found.state == FileState.RELEASED
    if released or not review_copies.under_review(found):
        _, stored = released_files.view_file(
            session, caller, found.id, settings.release_dir, page=True
        )
        raw = f"api/v2/releases/file/{found.id}"
    else:  # under review: only its checkers, never its author (the route says why)
        releases.release_row(caller, session, release_id)
        stored = reviews.open_review_copy(session, caller, found, settings.release_dir, "page")
        raw = f"api/v1/releases/{release_id}/files/{found.id}/review-copy"
    suffix = PurePosixPath(found.path).suffix.lower()
    table = text = None
    cells = []
    if suffix in (".csv", ".tsv"):
        with stored.open(encoding="utf-8-sig", errors="replace", newline="") as f:
            reader = csv.reader(f, delimiter="\t" if suffix == ".tsv" else ",")
            table = [r for _, r in zip(range(TABLE_ROWS_SHOWN + 1), reader, strict=False)]
    elif suffix in TEXTS:
        text = stored.read_text(encoding="utf-8", errors="replace")
        cells = notebook_cells(text) if suffix == ".html" else []
        text = text[:TEXT_SHOWN]
    shown = {"table": table, "text": text, "image": suffix in IMAGES, "shown": TABLE_ROWS_SHOWN}
    shown["cells"] = cells
    return render(
        request,
        "file.html",
        caller,
        workspace=row,
        file=found,
        raw=raw,
        under_review=not released,
        sees_project=caller.can(P.PROJECT_VIEW, row.project),
        **shown,
    )
