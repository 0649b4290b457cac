"""Provenance as the chain it is: a job (or a released file), the job that made each input it
read, and so on back to the commit each ran, in a page rather than the API's JSON.

Both pages ask the services the API asks (`services/provenance.py`), so the same permission
table decides and the same rules name files (`unreleased.py`: a collaborator reads a
released file's chain without the job's other outputs or its inputs); the file's chain is
audited as the API's is.
"""

from __future__ import annotations

from fastapi import Request

from ... import schema
from .. import orm
from ..deps import SessionDep
from ..errors import ProblemError
from ..permissions import Permission as P
from ..services import provenance, workspaces
from . import page
from .auth import page_caller
from .render import render
from .work import commit_url


def _steps(chain: list[schema.ProvenanceStep]) -> list[dict]:
    """Each step with what the template needs beside it: its commit's web address."""
    return [
        {
            "step": step,
            "commit_url": commit_url(step.provenance.repo, step.provenance.commit)
            if step.provenance
            else None,
        }
        for step in chain
    ]


def _commits(chain: list[schema.ProvenanceStep]) -> list[dict]:
    """The commits the chain ends at, each once, in the order first met."""
    seen: dict[tuple[str, str], dict] = {}
    for step in chain:
        if step.provenance:
            key = (step.provenance.repo, step.provenance.commit)
            seen.setdefault(key, {"repo": key[0], "commit": key[1], "url": commit_url(*key)})
    return list(seen.values())


@page("/jobs/{identifier}/provenance", P.OUTPUTS_VIEW_UNRELEASED, "project")
def job_provenance_page(identifier: str, request: Request, session: SessionDep):
    caller = page_caller(request, session)
    job = provenance.job_with_provenance(session, caller, identifier)  # the API's refusals
    chain = provenance.chain(session, job, unreleased=True)
    return render(
        request,
        "provenance.html",
        caller,
        workspace=job.job_request.workspace,
        job=job,
        file=None,
        steps=_steps(chain),
        actions={step.job: step.action for step in chain},
        commits=_commits(chain),
    )


FILE_PROVENANCE = "/{org}/{project}/{workspace}/releases/{release_id}/files/{file_id}/provenance"


@page(FILE_PROVENANCE, P.RELEASE_VIEW, "project")
def file_provenance_page(
    org: str,
    project: str,
    workspace: str,
    release_id: str,
    file_id: str,
    request: Request,
    session: SessionDep,
):
    caller = page_caller(request, session)
    place = workspaces.viewable_workspace(session, caller, workspace)  # its refusal first
    found = session.get(orm.ReleaseFile, file_id)
    if (
        (place.project.org.slug, place.project.slug) != (org, project)
        or found is None
        or found.release_id != release_id
        or found.release.workspace_id != place.id
    ):
        raise ProblemError(404, f"the release {release_id} has no file {file_id}")
    chain = provenance.file_provenance(session, caller, file_id)  # asks and audits as the API
    return render(
        request,
        "provenance.html",
        caller,
        workspace=place,
        job=found.job,
        file=found,
        steps=_steps(chain.steps),
        actions={step.job: step.action for step in chain.steps},
        commits=_commits(chain.steps),
    )
