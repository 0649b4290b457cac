"""What of a job's outputs may be shown, and to whom: one place for every route and page.

Unreleased outputs' names, sizes, hashes, rows, columns and findings are for those with
`outputs_view_unreleased`; others see only files that have been released. On a backend
whose log policy is "status", highly sensitive outputs are never shown to anyone: not
their names, sizes or hashes, whatever its runner sent (a runner that obeys its site
sends none). Provenance names outputs and inputs too, so it is filtered the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import schema
from . import orm

HIDDEN_ON_STATUS = "highly_sensitive"


def status_only(backend: orm.Backend) -> bool:
    """Whether the backend lets only states and status messages leave its site."""
    return backend.log_policy == "status"


class Shown:
    """Which files of some jobs may be named to one caller: `names(job, path)`."""

    def __init__(self, session: Session, jobs: Iterable[orm.Job], *, unreleased: bool):
        jobs = list(jobs)
        ids = [job.id for job in jobs]
        self.jobs = {job.identifier for job in jobs}
        self.status_only = {j.identifier for j in jobs if status_only(j.job_request.backend)}
        self.unreleased = unreleased
        self.not_hidden = {
            (job, path)
            for job, path in session.execute(
                select(orm.Job.identifier, orm.JobOutput.path)
                .join(orm.Job, orm.Job.id == orm.JobOutput.job_id)
                .where(orm.JobOutput.job_id.in_(ids))
                .where(orm.JobOutput.privacy_level != HIDDEN_ON_STATUS)
            )
        }
        self.released = set() if unreleased else _released(session, ids)

    def names(self, job: str | None, path: str) -> bool:
        if job not in self.jobs:
            return False  # a job not looked at: nothing known, nothing named
        if job in self.status_only and (job, path) not in self.not_hidden:
            return False
        return self.unreleased or (job, path) in self.released

    def provenance(self, provenance: schema.Provenance, job: orm.Job) -> schema.Provenance:
        """The provenance with only the outputs and inputs that may be named."""
        outputs = [o for o in provenance.outputs if self.names(job.identifier, o.path)]
        inputs = [i for i in provenance.inputs if self.names(i.job, i.path)]
        return provenance.model_copy(update={"outputs": outputs, "inputs": inputs})


def _released(session: Session, ids: list[int]) -> set[tuple[str, str]]:
    """(job identifier, path) of the files of these jobs that are released and not deleted."""
    rows = session.execute(
        select(orm.Job.identifier, orm.ReleaseFile.path)
        .join(orm.Job, orm.Job.id == orm.ReleaseFile.job_id)
        .where(orm.ReleaseFile.job_id.in_(ids), orm.ReleaseFile.state == "released")
        .where(orm.ReleaseFile.deleted_at.is_(None))
    )
    return {(job, path) for job, path in rows}


def input_jobs(session: Session, job: orm.Job, provenance: schema.Provenance) -> list[orm.Job]:
    """The jobs whose outputs `job` read, as its provenance names them."""
    wanted = {i.job for i in provenance.inputs if i.job}
    if not wanted:
        return []
    return list(session.scalars(select(orm.Job).where(orm.Job.identifier.in_(wanted))))
