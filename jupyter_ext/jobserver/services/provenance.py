"""What made a job's outputs, as its runner recorded it, and a released file's chain of jobs.

A job's provenance (its commit, what it ran in, the sha256 of what it read and
wrote) is sent by the runner with its outputs. A file's chain is the job that
made it, then the jobs that made that job's inputs, and so on back to the
commit: the question an output checker or a reader of a paper asks. Files are
named only as the caller may see them (`unreleased.py`).
"""

from __future__ import annotations

from collections import deque

from sqlalchemy import select
from sqlalchemy.orm import Session

from ... import schema
from .. import orm
from ..audit import record
from ..callers import Caller
from ..errors import ProblemError
from ..permissions import Permission as P
from ..unreleased import Shown, input_jobs


def job_with_provenance(session: Session, caller: Caller, identifier: str) -> orm.Job:
    """The job, if `caller` may see its unreleased outputs and its runner recorded how it
    made them."""
    job = session.scalar(select(orm.Job).where(orm.Job.identifier == identifier))
    if job is None:
        raise ProblemError(404, f"there is no job {identifier!r}, or you may not see it")
    caller.require(P.OUTPUTS_VIEW_UNRELEASED, job.job_request.workspace.project)
    if job.provenance is None:
        raise ProblemError(
            404,
            f"the job {identifier} has no recorded provenance: it has not succeeded, or "
            "its runner did not record it (runners before provenance was kept)",
        )
    return job


def job_provenance(session: Session, caller: Caller, identifier: str) -> schema.Provenance:
    """A job's provenance; it names the job's unreleased outputs and inputs, with their hashes."""
    job = job_with_provenance(session, caller, identifier)
    provenance = schema.Provenance.model_validate(job.provenance)
    shown = Shown(session, [job, *input_jobs(session, job, provenance)], unreleased=True)
    return shown.provenance(provenance, job)


def file_provenance(session: Session, caller: Caller, file_id: str) -> schema.ProvenanceChain:
    """The file, the job that made it, then the jobs that made its inputs, back to the commit;
    the reading audited."""
    row = session.get(orm.ReleaseFile, file_id)
    if row is None or row.deleted_at is not None:
        raise ProblemError(404, f"there is no release file {file_id!r}")
    _may_see(caller, row)
    record(session, caller.name, "release_file.provenance", row)
    session.commit()
    made = schema.FileDigest(path=row.path, sha256=row.sha256, job=row.job.identifier)
    unreleased = caller.can(
        P.OUTPUTS_VIEW_UNRELEASED, row.release.workspace.project, row.release.backend
    )
    return schema.ProvenanceChain(file=made, steps=chain(session, row.job, unreleased))


def _may_see(caller: Caller, row: orm.ReleaseFile) -> None:
    """As for the file itself: released ones with release_view, others only with the right to
    see unreleased outputs."""
    project, site = row.release.workspace.project, row.release.backend
    if caller.can(P.OUTPUTS_VIEW_UNRELEASED, project, site):
        return
    if row.state == "released" and caller.can(P.RELEASE_VIEW, project, site):
        return
    raise ProblemError(403, f"{caller.name} may not see this file of project {project.slug}")


def chain(session: Session, first: orm.Job, unreleased: bool) -> list[schema.ProvenanceStep]:
    """Breadth first from `first`, each job once, through its inputs' `job`; only jobs of the
    same workspace and backend (where the runner found those inputs) are followed. Files are
    named only as the caller may see them (`unreleased.py`)."""
    jobs, seen, queue = [], {first.identifier}, deque([first])
    while queue:
        job = queue.popleft()
        provenance = schema.Provenance.model_validate(job.provenance) if job.provenance else None
        jobs.append((job, provenance))
        for made_by in _input_jobs(session, job, provenance, seen):
            seen.add(made_by.identifier)
            queue.append(made_by)
    shown = Shown(session, [job for job, _ in jobs], unreleased=unreleased)
    return [
        schema.ProvenanceStep(
            job=job.identifier,
            action=job.action,
            job_request=job.job_request_id,
            provenance=shown.provenance(provenance, job) if provenance else None,
        )
        for job, provenance in jobs
    ]


def _input_jobs(session: Session, job: orm.Job, provenance, seen: set[str]) -> list[orm.Job]:
    wanted = {i.job for i in provenance.inputs if i.job} - seen if provenance else set()
    if not wanted:
        return []
    query = select(orm.Job).where(
        orm.Job.identifier.in_(wanted),
        orm.Job.workspace_id == job.workspace_id,
        orm.Job.backend_id == job.backend_id,
    )
    return list(session.scalars(query.order_by(orm.Job.id)))
