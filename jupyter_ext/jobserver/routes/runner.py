"""The runner's side of the API: long-poll for work, report state, logs, outputs, heartbeats.

The bytes of published files and of files under review come by `file_uploads.py`.

Runners live on backends that accept no connections, so they call in. A poll
is answered the moment its backend has a job that can start; jobs are leased
(state running) with one conditional UPDATE, so two runners never take the
same job. A lease lives while heartbeats renew it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from ... import schema
from ...redaction import clean, mask
from .. import github_tokens, orm, review_copies, views
from ..audit import record
from ..dataset_access import NotAllowed, resolve
from ..deps import BackendDep, SessionDep, current_backend
from ..errors import ProblemError
from ..events import emit, emit_job, wake_backend
from ..states import FINISHED_JOB_STATES, advance
from ..unreleased import HIDDEN_ON_STATUS, status_only

router = APIRouter(prefix="/runner", tags=["runner"])
# runners authenticate with their backend's runner token, never as a user
RUNNER_ONLY = {"x-permission": "runner_token", "x-scope": "runner"}
PENDING_PAGE = 500


def _settings(request: Request):
    return request.app.state.settings


def _runner_job(session: Session, backend: orm.Backend, identifier: str) -> orm.Job:
    job = session.scalar(select(orm.Job).where(orm.Job.identifier == identifier))
    if job is None or job.backend_id != backend.id:
        raise ProblemError(404, f"the backend {backend.slug} has no job {identifier!r}")
    return job


def lease_jobs(
    session: Session, backend: orm.Backend, capacity: int, lease: dt.timedelta, vault
) -> list[schema.Lease]:
    """Start what can start: pending jobs of the backend whose dependencies all succeeded.

    A job whose dependency failed or was cancelled fails here, saying which.
    """
    if capacity <= 0:
        return []
    leases: list[schema.Lease] = []
    after = 0
    while len(leases) < capacity:  # page on: blocked jobs must not hide runnable ones
        pending = session.scalars(
            select(orm.Job)
            .where(orm.Job.backend_id == backend.id, orm.Job.state == "pending", orm.Job.id > after)
            .order_by(orm.Job.id)
            .limit(PENDING_PAGE)
        ).all()
        if not pending:
            break
        after = pending[-1].id
        leases += _lease_page(session, backend, pending, capacity - len(leases), lease, vault)
    backend.last_seen_at = orm.utcnow()
    session.commit()
    return leases


def _lease_page(
    session: Session,
    backend: orm.Backend,
    pending: list[orm.Job],
    capacity: int,
    lease: dt.timedelta,
    vault,
) -> list[schema.Lease]:
    waited = {i for job in pending for i in job.wait_for}
    states = (
        dict(
            session.execute(
                select(orm.Job.identifier, orm.Job.state).where(orm.Job.identifier.in_(waited))
            ).all()
        )
        if waited
        else {}
    )
    leases = []
    now = orm.utcnow()
    for job in pending:
        blocking = [i for i in job.wait_for if states.get(i) != "succeeded"]
        broken = [i for i in blocking if states.get(i) in ("failed", "cancelled")]
        if broken:
            job.state, job.completed_at = "failed", now
            job.status_message = f"not started: the job {broken[0]} it needs did not succeed"
            record(session, f"runner:{backend.slug}", "job.fail", job, after={"state": "failed"})
            emit_job(session, job)
            github_tokens.forget_when_finished(job.job_request)
            continue
        if blocking or len(leases) >= capacity:
            continue
        try:  # asked again now: an approval may have been revoked while the job waited
            datasets = resolve(session, job.job_request.workspace.project, backend, job.datasets)
        except NotAllowed as exc:
            job.state, job.completed_at = "failed", now
            job.status_message = f"not started: {exc}"
            record(session, f"runner:{backend.slug}", "job.fail", job, after={"state": "failed"})
            emit_job(session, job)
            github_tokens.forget_when_finished(job.job_request)
            continue
        taken = session.execute(
            update(orm.Job)
            .where(orm.Job.id == job.id, orm.Job.state == "pending")
            .values(
                state="running",
                started_at=now,
                lease_expires_at=now + lease,
                runner=backend.slug,
                status_message=f"started on {backend.slug}",
            )
        ).rowcount
        if not taken:
            continue
        session.refresh(job)
        request = job.job_request
        token = github_tokens.for_lease(request, vault)  # a saved one is read now
        leases.append(
            schema.Lease(
                identifier=job.identifier,
                job_request=request.id,
                workspace=request.workspace.name,
                action=job.action,
                repo=request.workspace.repo,
                sha=request.sha,
                run=job.run,
                needs=job.needs,
                wait_for=job.wait_for,
                outputs=job.outputs_spec,
                requires_db=job.requires_db,
                datasets=datasets,
                github_token=token,
                lease_expires_at=now + lease,
            )
        )
        record(
            session,
            f"runner:{backend.slug}",
            "job.start",
            job,
            {"state": "pending"},
            {"state": "running"},
        )
        emit_job(session, job)
    return leases


@router.post("/poll", openapi_extra=RUNNER_ONLY)
async def poll(body: schema.Poll, request: Request) -> list[schema.Lease]:
    """Jobs to run now; held open up to `wait` seconds until there are some."""
    app = request.app
    settings = app.state.settings
    deadline = time.monotonic() + body.wait

    def attempt() -> tuple[int, list[schema.Lease]]:
        with app.state.sessionmaker() as session:
            backend = current_backend(request, session)
            return backend.id, lease_jobs(
                session, backend, body.capacity, settings.lease, app.state.vault
            )

    while True:
        if await request.is_disconnected():  # a runner that went away takes no job
            return []
        backend_id, leases = await run_in_threadpool(attempt)
        remaining = deadline - time.monotonic()
        if leases or remaining <= 0:
            return leases
        try:
            if await _hung_up_first(app.state.bus.wait_for_work(backend_id, remaining), request):
                return []  # no task is left waiting for a runner that stopped
        except asyncio.CancelledError:  # the server stopping cancels what is still open
            return []  # an answer (no work) rather than a traceback in its log


async def _hung_up_first(waiting, request: Request) -> bool:
    """Await `waiting`, or the caller hanging up (its body is read: only a disconnect can
    come); whether it hung up first."""

    async def hung_up() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    tasks = [asyncio.ensure_future(waiting), asyncio.ensure_future(hung_up())]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
    return tasks[1] in done


@router.post("/heartbeat", openapi_extra=RUNNER_ONLY)
def heartbeat(
    body: schema.Heartbeat, request: Request, backend: BackendDep, session: SessionDep
) -> schema.HeartbeatReply:
    now = orm.utcnow()
    backend.last_seen_at, backend.runner_version = now, body.version
    backend.executor, backend.capacity = body.executor, body.capacity
    if body.release_rules is not None:
        backend.release_rules = body.release_rules.model_dump(mode="json")
    running = session.scalars(
        select(orm.Job).where(orm.Job.backend_id == backend.id, orm.Job.state == "running")
    ).all()
    reported = set(body.running)
    for job in running:
        if job.identifier in reported:
            job.lease_expires_at = now + _settings(request).lease
    cancel = [j.identifier for j in running if j.cancel_requested]
    waiting = session.scalars(
        select(orm.ReleaseFile)
        .join(orm.Release, orm.Release.id == orm.ReleaseFile.release_id)
        .where(
            orm.Release.backend_id == backend.id,
            orm.ReleaseFile.state == "released",
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


@router.post("/jobs/{identifier}/status", openapi_extra=RUNNER_ONLY)
def report_status(
    identifier: str, body: schema.StatusUpdate, backend: BackendDep, session: SessionDep
) -> schema.Job:
    job = _runner_job(session, backend, identifier)
    if job.state == body.state.value:  # a repeat of the last report: nothing changes
        job.status_message = body.status_message or job.status_message
        session.commit()
        return views.job(job)
    before = {"state": job.state}
    job.state = advance("job", job.state, body.state.value)
    now = orm.utcnow()
    job.status_message = body.status_message
    job.exit_code = body.exit_code
    if job.state in FINISHED_JOB_STATES:
        job.completed_at, job.lease_expires_at = now, None
        if job.state == "cancelled" and job.cancelled_by is not None:
            job.status_message = body.status_message or f"cancelled by {job.cancelled_by.username}"
        github_tokens.forget_when_finished(job.job_request)
    elif job.state == "pending":  # re-queued by its runner
        job.started_at = job.runner = job.lease_expires_at = None
    record(
        session,
        f"runner:{backend.slug}",
        f"job.{job.state}",
        job,
        before,
        {"state": job.state, "exit_code": job.exit_code},
    )
    emit_job(session, job)
    if job.state in FINISHED_JOB_STATES:
        wake_backend(session, backend.id)  # jobs that waited for this one may start now
    session.commit()
    return views.job(job)


@router.post("/jobs/{identifier}/logs", status_code=204, openapi_extra=RUNNER_ONLY)
def report_logs(
    identifier: str,
    body: schema.LogBatch,
    request: Request,
    backend: BackendDep,
    session: SessionDep,
) -> Response:
    """Lines with sequence numbers: a repeat is skipped, a gap is refused, none is lost."""
    job = _runner_job(session, backend, identifier)
    if body.first_seq > job.log_seq:
        raise ProblemError(
            409,
            f"log lines are missing: the next line expected is {job.log_seq}",
            errors=[{"field": "first_seq", "expected": job.log_seq}],
        )
    fresh = body.lines[job.log_seq - body.first_seq :]  # lines not seen before
    start, cap = job.log_seq, _settings(request).log_line_cap
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
    if backend.log_policy == "status":
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
    return Response(status_code=204)


LINE_CHARS = 10_000  # of one log line, kept


def _as_policy_allows(policy: str):
    """A line as the backend's policy lets it be kept: `redacted` masks numbers and
    identifiers again here (the runner should have, but the job server does not rely on
    it); a line longer than LINE_CHARS keeps its start and says how much was cut."""

    def said(text: str) -> str:
        if policy == "redacted":
            text = mask(clean(text))
        if len(text) > LINE_CHARS:
            note = f" [line cut by the job server: {len(text) - LINE_CHARS + 64:,} more characters]"
            text = text[: LINE_CHARS - 64] + note
        return text

    return said


@router.post("/jobs/{identifier}/outputs", status_code=204, openapi_extra=RUNNER_ONLY)
def report_outputs(
    identifier: str, body: schema.OutputsReport, backend: BackendDep, session: SessionDep
) -> Response:
    """Keep the outputs a runner reports (at most `schema.MAX_OUTPUTS`, 422 past it).

    Every path is checked before a row is written, and the rows go in as one bulk insert (and
    one bulk update for paths a repeated report names again) in one short transaction: SQLite
    has one writer at a time, and a row-by-row merge of thousands held its lock for seconds,
    so that every other writer was answered "database is locked"."""
    job = _runner_job(session, backend, identifier)
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
    return Response(status_code=204)


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
