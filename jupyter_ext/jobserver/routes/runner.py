"""The runner's side of the API: long-poll for work, report state, logs, outputs, heartbeats,
and send the bytes of published files (resumable).

Runners live on backends that accept no connections, so they call in. A poll
is answered the moment its backend has a job that can start; jobs are leased
(state running) with one conditional UPDATE, so two runners never take the
same job. A lease lives while heartbeats renew it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import os
import re
import time
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect

from ... import schema
from ...redaction import clean, mask
from .. import github_tokens, orm, review_copies, views
from ..audit import record
from ..dataset_access import NotAllowed, resolve
from ..deps import BackendDep, SessionDep, current_backend
from ..errors import ProblemError
from ..events import emit, emit_job, emit_release, wake_backend
from ..release_store import stored_path
from ..states import FINISHED_JOB_STATES, advance
from ..unreleased import HIDDEN_ON_STATUS, status_only
from ..upload_leases import Held, holding

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
        .where(orm.Release.backend_id == backend.id, orm.ReleaseFile.state == "released",
               orm.ReleaseFile.uploaded_at.is_(None), orm.ReleaseFile.upload_refused.is_(None))
        .limit(100)
    ).all()  # fmt: skip
    uploads = [
        schema.ReleaseUpload(file=f.id, job=f.job.identifier, workspace=f.release.workspace.name,
                             path=f.path, sha256=f.sha256, size=f.size)
        for f in waiting
    ]  # fmt: skip
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


# -- released files, uploaded from the site ------------------------------------
#
# An upload may be cut short and go on later: its bytes wait in a partial file of
# their own until the whole file has come, and only then are they hashed.

CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


def _release_file(session: Session, backend: orm.Backend, file_id: str) -> orm.ReleaseFile:
    row = session.get(orm.ReleaseFile, file_id)
    if row is None or row.release.backend_id != backend.id:
        raise ProblemError(404, f"the backend {backend.slug} has no release file {file_id!r}")
    if row.state != "released":
        raise ProblemError(409, "the file is not published: it may not leave the backend")
    return row


def _partial(request: Request, file_id: str) -> Path:
    """Where the bytes of an upload wait until the whole file has come."""
    return Path(_settings(request).release_dir) / "partial" / file_id


def _held(partial: Path, size: int, uploaded: bool) -> int:
    """Bytes of the file the server holds: all of them once uploaded, else what has come."""
    if uploaded:
        return size
    try:
        return partial.stat().st_size
    except FileNotFoundError:
        return 0


@router.get("/release-files/{file_id}", openapi_extra=RUNNER_ONLY)
def release_file_state(
    file_id: str, request: Request, backend: BackendDep, session: SessionDep
) -> schema.ReleaseFileState:
    """How much of the file the server holds, so that an interrupted upload goes on from there."""
    row = _release_file(session, backend, file_id)
    uploaded = row.uploaded_at is not None
    received = _held(_partial(request, file_id), row.size, uploaded)
    return schema.ReleaseFileState(
        received=received, size=row.size, sha256=row.sha256, uploaded=uploaded
    )


def _start(content_range: str | None, held: int, size: int) -> int:
    """Where the bytes of a PUT begin: 0 without Content-Range (it starts over), else START,
    which must be where the bytes held end (or 0 if they are the whole file: it starts over)."""
    if content_range is None:
        return 0
    match = CONTENT_RANGE.fullmatch(content_range.strip())
    if match is None or (int(match[2]), int(match[3])) != (size - 1, size):
        raise ProblemError(
            422, f"Content-Range must be 'bytes START-{size - 1}/{size}': the rest of the file"
        )
    start, expected = int(match[1]), held if held < size else 0
    if start != expected:
        raise ProblemError(
            409,
            f"the upload must go on from byte {expected}, not {start}",
            errors=[{"field": "Content-Range", "expected": expected}],
        )
    return start


async def _receive(request: Request, partial: Path, start: int, size: int, held: Held) -> int:
    """Write the body into the partial file from byte `start`; the bytes that came in all.

    Never more than `size` are kept: past it the rest is left unread. Nothing is written
    once this upload's lease is lost to another."""
    partial.parent.mkdir(parents=True, exist_ok=True)
    received = start
    with partial.open("ab" if start else "wb") as part:
        async for chunk in request.stream():
            received += len(chunk)
            if received > size:
                break  # more than the frozen file: it cannot match
            held.check()
            part.write(chunk)
    return received


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def _frozen(request: Request, file_id: str) -> tuple[str, int, bool]:
    """The file's frozen sha256 and size, and whether it has been uploaded."""
    with request.app.state.sessionmaker() as session:
        row = _release_file(session, current_backend(request, session), file_id)
        if row.upload_refused is not None:
            raise ProblemError(409, f"the site refused to send this file ({row.upload_refused}): "
                                    "it can no longer be uploaded")  # fmt: skip
        return row.sha256, row.size, row.uploaded_at is not None


def _refuse(request: Request, file_id: str, received: int, sha256: str | None) -> None:
    with request.app.state.sessionmaker() as session:
        backend = current_backend(request, session)
        row = session.get(orm.ReleaseFile, file_id)
        after = {"received_bytes": received, "sha256": sha256}
        record(session, f"runner:{backend.slug}", "release_file.upload.refused", row, after=after)
        session.commit()


def _store(request: Request, file_id: str, partial: Path, sha256: str) -> None:
    """Move the checked bytes into place, by their hash, and record that the file has come."""
    target = stored_path(_settings(request).release_dir, sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, target)
    with request.app.state.sessionmaker() as session:
        backend = current_backend(request, session)
        row = session.get(orm.ReleaseFile, file_id)
        if row.uploaded_at is None:
            row.uploaded_at = orm.utcnow()
            after = {"sha256": sha256}
            record(session, f"runner:{backend.slug}", "release_file.upload", row, after=after)
            emit_release(session, row.release)
            session.commit()


@router.post("/release-files/{file_id}/refusal", status_code=204, openapi_extra=RUNNER_ONLY)
def refuse_release_file(
    file_id: str, body: schema.UploadRefusal, backend: BackendDep, session: SessionDep
) -> Response:
    """The site will not send this published file (it changed since it was frozen, or the
    site's rules refuse it): kept with its reason, audited, and no longer asked for. A repeat
    changes nothing; the first reason stays."""
    row = _release_file(session, backend, file_id)
    if row.uploaded_at is not None:
        raise ProblemError(409, "the file has been uploaded already: it can no longer be refused")
    if row.upload_refused is None:
        row.upload_refused = body.reason
        after = {"upload_refused": body.reason}
        record(session, f"runner:{backend.slug}", "release_file.upload_refused", row,
               {"upload_refused": None}, after)  # fmt: skip
        session.commit()
    return Response(status_code=204)


@router.put("/release-files/{file_id}", status_code=204, openapi_extra=RUNNER_ONLY)
async def upload_release_file(file_id: str, request: Request) -> Response:
    """The bytes of a published file, streamed; refused unless they hash to what was frozen.

    With `Content-Range: bytes START-END/SIZE` it goes on from the bytes held (see the GET);
    without, it starts over. Bytes of an interrupted PUT stay for the next one."""
    sha256, size, uploaded = await run_in_threadpool(_frozen, request, file_id)
    if uploaded:  # a replay: the released bytes are immutable and nothing is read
        raise ProblemError(409, "the file has been uploaded already: released files never change")
    partial = _partial(request, file_id)
    ttl = _settings(request).upload_lease
    async with holding(request.app.state.sessionmaker, file_id, ttl) as held:
        if (await run_in_threadpool(_frozen, request, file_id))[2]:  # done while it waited
            raise ProblemError(409, "the file has been uploaded already: it never changes")
        held_bytes = _held(partial, size, uploaded)
        start = _start(request.headers.get("content-range"), held_bytes, size)
        try:
            received = await _receive(request, partial, start, size, held)
        except ClientDisconnect:  # cut short: what came stays, for the runner to go on from
            return Response(status_code=400)
        digest = await run_in_threadpool(_sha256, partial) if received == size else None
        await held.confirm()  # still this upload's: no other has begun on the partial file
        if digest != sha256:
            partial.unlink(missing_ok=True)
            await run_in_threadpool(_refuse, request, file_id, received, digest)
            raise ProblemError(
                422,
                f"the upload does not match the frozen file ({size} bytes, "
                f"sha256 {sha256[:12]}…): the file changed on the site",
            )
        await run_in_threadpool(_store, request, file_id, partial, sha256)
    return Response(status_code=204)
