"""What made a job's outputs, and a released file's chain of jobs (`services/provenance.py`).

A job's provenance (its commit, what it ran in, the sha256 of what it read and
wrote) is sent by the runner with its outputs. A file's chain is the job that
made it, then the jobs that made that job's inputs, and so on back to the
commit: the question an output checker or a reader of a paper asks.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from ... import schema
from ..callers import Caller
from ..deps import SessionDep, requires
from ..permissions import Permission as P
from ..services import provenance

router = APIRouter(tags=["jobs"])  # /api/v1
files_router = APIRouter(tags=["releases"])  # /api/v2, beside the released file itself


@router.get("/jobs/{identifier}/provenance")  # it names the job's unreleased outputs and inputs
def job_provenance(
    identifier: str,
    caller: Annotated[Caller, requires(P.OUTPUTS_VIEW_UNRELEASED, "project")],
    session: SessionDep,
) -> schema.Provenance:
    return provenance.job_provenance(session, caller, identifier)


@files_router.get("/releases/file/{file_id}/provenance")
def file_provenance(
    file_id: str,
    caller: Annotated[Caller, requires(P.OUTPUTS_VIEW_UNRELEASED, "project", also=P.RELEASE_VIEW)],
    session: SessionDep,
) -> schema.ProvenanceChain:
    """The file, the job that made it, then the jobs that made its inputs, back to the commit."""
    return provenance.file_provenance(session, caller, file_id)
