"""What a runner tells the job server: heartbeats, a job's state, its log lines, its outputs.

A runner is known by its backend (its runner token) and may speak only of that backend's
jobs. The bytes of published files and of files under review come by `file_uploads.py`.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from ... import schema
from ...redaction import clean, mask
from ...schema.states import FileState, JobState, LogPolicy
from .. import github_tokens, orm, review_copies
from ..audit import record
from ..errors import ProblemError
from ..events import emit, wake_backend
from ..states import FINISHED_JOB_STATES
from ..transitions import move
from ..unreleased import HIDDEN_ON_STATUS, status_only
from .leasing import renew_leases

log = logging.getLogger(__name__)
LINE_CHARS = 10_000  # of one log line, kept


def runner_job(session: Session, backend: orm.Backend, identifier: str) -> orm.Job:
    job = session.scalar(select(orm.Job).where(orm.Job.identifier == identifier))
    if job is None or job.backend_id != backend.id:
        raise ProblemError(404, f"the backend {backend.slug} has no job {identifier!r}")
    return job


def heartbeat(
    session: Session, backend: orm.Backend, body: schema.Heartbeat, lease: dt.timedelta
) -> schema.HeartbeatReply:
    """The runner is alive: its backend's record, the leases of the jobs it still runs; the
    answer names the jobs to cancel and the files to upload (published ones, review copies)."""
    backend.last_seen_at, backend.runner_version = orm.utcnow(), body.version
    backend.executor, backend.capacity = body.executor, body.capacity
    if body.release_rules is not None:
        backend.release_rules = body.release_rules.model_dump(mode="json")
    if body.resource_limits is not None:
        backend.resource_limits = body.resource_limits.model_dump(mode="json")
    cancel = renew_leases(session, backend, body.running, lease)
    waiting = session.scalars(
        select(orm.ReleaseFile)
        .join(orm.Release, orm.Release.id == orm.ReleaseFile.release_id)
        .where(
            orm.Release.backend_id == backend.id,
            orm.ReleaseFile.state == FileState.RELEASED,
            orm.ReleaseFile.uploaded_at.is_(None),
            orm.ReleaseFile.upload_refused.is_(None),
        )
        .limit(100)
    ).all()
    uploads = [
        schema.ReleaseUpload(
            file=f.id,
            job=f.job.identifier,
            workspace=f.release.workspace.name,
            path=f.path,
            sha256=f.sha256,
            size=f.size,
        )
        for f in waiting
    ]
    uploads += review_copies.wanted(session, backend, limit=100 - len(uploads))  # for checkers
    session.commit()
    return schema.HeartbeatReply(cancel=cancel, uploads=uploads, log_policy=backend.log_policy)


def report_status(
    session: Session, backend: orm.Backend, identifier: str, body: schema.StatusUpdate
) -> orm.Job:
    """The job's new state as its runner saw it, through the job machine's table."""
    job = runner_job(session, backend, identifier)
    if body.usage_refused:  # dropped by the schema: the end is recorded without figures
        log.warning(
            "the runner of %s sent the usage of job %s out of bounds, dropped: %s",
            backend.slug,
            identifier,
            body.usage_refused,
        )
    new = JobState(body.state.value)
    usage = usage_columns(body.usage) if new in FINISHED_JOB_STATES else {}
    if job.state == body.state.value:  # a repeat of the last report: nothing changes
        job.status_message = body.status_message or job.status_message
        if usage and job.wall_seconds is None:  # but figures the first report lacked
            for column, value in usage.items():
                setattr(job, column, value)
        session.commit()
        return job
    changes = {"status_message": body.status_message, "exit_code": body.exit_code}
    if new in FINISHED_JOB_STATES:
        changes.update(completed_at=orm.utcnow(), lease_expires_at=None, **usage)
        if new == JobState.CANCELLED and job.cancelled_by is not None:
            said = body.status_message or f"cancelled by {job.cancelled_by.username}"
            changes["status_message"] = said
    elif new == JobState.PENDING:  # re-queued by its runner
        changes.update(started_at=None, runner=None, lease_expires_at=None)
    actor = f"runner:{backend.slug}"
    move(session, job, new, actor=actor, audit={"exit_code": body.exit_code}, **changes)
    if new in FINISHED_JOB_STATES:
        github_tokens.forget_when_finished(job.job_request)
        wake_backend(session, backend.id)  # jobs that waited for this one may start now
    session.commit()
    return job


def usage_columns(usage: schema.JobUsage | None) -> dict:
    """The job's usage columns from what its runner measured ({} if it sent none)."""
    if usage is None:
        return {}
    return {
        "cpu_seconds": usage.cpu_seconds,
        "wall_seconds": usage.wall_seconds,
        "peak_memory_bytes": usage.peak_memory_bytes,
        "bytes_written": usage.bytes_written,
    }


def report_logs(
    session: Session, backend: orm.Backend, identifier: str, body: schema.LogBatch, cap: int
) -> None:
    """Lines with sequence numbers: a repeat is skipped, a gap is refused, none is lost; past
    `cap` lines of a job, the rest stay on the backend."""
    job = runner_job(session, backend, identifier)
    if body.first_seq > job.log_seq:
        raise ProblemError(
            409,
            f"log lines are missing: the next line expected is {job.log_seq}",
            errors=[{"field": "first_seq", "expected": job.log_seq}],
        )
    fresh = body.lines[job.log_seq - body.first_seq :]  # lines not seen before
    start = job.log_seq
    # sequence numbers stay the runner's, whatever is kept; a batch sent twice at once (a
    # retry racing its original) moves them only once: the other finds them moved
    moved = session.execute(
        update(orm.Job)
        .where(orm.Job.id == job.id, orm.Job.log_seq == start)
        .values(log_seq=start + len(fresh))
    ).rowcount
    if not moved:
        session.rollback()
        raise ProblemError(409, "these log lines arrived twice at once: the other copy was kept")
    said = _as_policy_allows(backend.log_policy)
    rows = [(start + i, said(text)) for i, text in enumerate(fresh[: max(0, cap - start)])]
    if start <= cap < start + len(fresh):  # this batch crosses the cap: say so, once
        rows.append((cap, f"[log capped at {cap} lines: the rest is kept on the backend]"))
    if backend.log_policy == LogPolicy.STATUS:
        rows = []  # the backend's policy: only states and status messages leave the site
    if rows:
        now = orm.utcnow()
        session.execute(
            insert(orm.LogLine),
            [{"job_id": job.id, "seq": seq, "text": text, "at": now} for seq, text in rows],
        )
        request_row = job.job_request
        emit(
            session,
            "log",
            {"job": job.identifier, "lines": [[q, t] for q, t in rows]},
            workspace=request_row.workspace,
            backend=backend,
            job_request_id=request_row.id,
        )
    session.commit()


def _as_policy_allows(policy: str):
    """A line as the backend's policy lets it be kept: `redacted` masks numbers and
    identifiers again here (the runner should have, but the job server does not rely on
    it); a line longer than LINE_CHARS keeps its start and says how much was cut."""

    def said(text: str) -> str:
        if policy == LogPolicy.REDACTED:
            text = mask(clean(text))
        if len(text) > LINE_CHARS:
            note = f" [line cut by the job server: {len(text) - LINE_CHARS + 64:,} more characters]"
            text = text[: LINE_CHARS - 64] + note
        return text

    return said


def report_outputs(
    session: Session, backend: orm.Backend, identifier: str, body: schema.OutputsReport
) -> None:
    """Keep the outputs a runner reports (at most `schema.MAX_OUTPUTS`, 422 past it).

    Every path is checked before a row is written, and the rows go in as one bulk insert (and
    one bulk update for paths a repeated report names again) in one short transaction: SQLite
    has one writer at a time, and a row-by-row merge of thousands held its lock for seconds,
    so that every other writer was answered "database is locked"."""
    job = runner_job(session, backend, identifier)
    rows = {row["path"]: row for row in _output_rows(job.id, body.outputs, backend)}
    held = set(session.scalars(select(orm.JobOutput.path).where(orm.JobOutput.job_id == job.id)))
    if fresh := [row for path, row in rows.items() if path not in held]:
        session.execute(insert(orm.JobOutput), fresh)
    if again := [row for path, row in rows.items() if path in held]:
        session.execute(update(orm.JobOutput), again)  # by primary key (job_id, path)
    if body.provenance is not None:
        job.provenance = body.provenance.model_dump(mode="json")
    record(
        session, f"runner:{backend.slug}", "job.outputs", job, after={"outputs": len(body.outputs)}
    )
    session.commit()


def _output_rows(job_id: int, outputs: list[schema.Output], backend: orm.Backend) -> list[dict]:
    """The rows to keep, every path checked first: a report with one bad path writes nothing."""
    rows = []
    for output in outputs:
        if status_only(backend) and output.privacy_level == HIDDEN_ON_STATUS:
            continue  # its name, size and hash may not leave the site: not even kept here
        if output.path.startswith("/") or ".." in output.path.split("/"):
            raise ProblemError(422, f"output path {output.path!r} is not inside the workspace")
        check = output.check.model_dump(mode="json") if output.check else None
        rows.append(
            {
                "job_id": job_id,
                "path": output.path,
                "size": output.size,
                "sha256": output.sha256,
                "privacy_level": output.privacy_level,
                "check": check,
            }
        )
    return rows
