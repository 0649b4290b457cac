"""The runner's side of the API: long-poll for work, report state, logs, outputs, heartbeats.

Runners live on backends that accept no connections, so they call in. A poll is answered
the moment its backend has a job that can start (leasing: `services/leasing.py`); what a
runner reports is kept by `services/runner_reports.py`. The bytes of published files and
of files under review come by `file_uploads.py`.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from ... import schema
from .. import views
from ..deps import RUNNER_ONLY, BackendDep, SessionDep, current_backend
from ..services import leasing, runner_reports

router = APIRouter(prefix="/runner", tags=["runner"])


def _lease(request: Request) -> dt.timedelta:
    return dt.timedelta(seconds=request.app.state.settings.lease_seconds)


# the poll checks its runner's token at each attempt (`current_backend`), not as a dependency:
# hence it declares itself runner-only
@router.post("/poll", openapi_extra=RUNNER_ONLY)
async def poll(body: schema.Poll, request: Request) -> list[schema.Lease]:
    """Jobs to run now; held open up to `wait` seconds until there are some."""
    app = request.app
    lease = _lease(request)
    deadline = time.monotonic() + body.wait

    def attempt() -> tuple[int, int, list[schema.Lease]]:
        with app.state.sessionmaker() as session:
            backend = current_backend(request, session)
            mark = app.state.bus.work_mark(backend.id)  # before looking: no wake-up is lost
            leases = leasing.lease_jobs(session, backend, body.capacity, lease, app.state.vault)
            return backend.id, mark, leases

    while True:
        if await request.is_disconnected():  # a runner that went away takes no job
            return []
        backend_id, mark, leases = await run_in_threadpool(attempt)
        remaining = deadline - time.monotonic()
        if leases or remaining <= 0:
            return leases
        waiting = app.state.bus.wait_for_work(backend_id, remaining, mark)
        try:
            if await _hung_up_first(waiting, request):
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


@router.post("/heartbeat")
def heartbeat(
    body: schema.Heartbeat, request: Request, backend: BackendDep, session: SessionDep
) -> schema.HeartbeatReply:
    return runner_reports.heartbeat(session, backend, body, _lease(request))


@router.post("/jobs/{identifier}/status")
def report_status(
    identifier: str, body: schema.StatusUpdate, backend: BackendDep, session: SessionDep
) -> schema.Job:
    return views.job(runner_reports.report_status(session, backend, identifier, body))


@router.post("/jobs/{identifier}/logs", status_code=204)
def report_logs(
    identifier: str,
    body: schema.LogBatch,
    request: Request,
    backend: BackendDep,
    session: SessionDep,
) -> Response:
    """Lines with sequence numbers: a repeat is skipped, a gap is refused, none is lost."""
    cap = request.app.state.settings.log_line_cap
    runner_reports.report_logs(session, backend, identifier, body, cap)
    request.app.state.metrics.log_received(backend.slug, body.lines)
    return Response(status_code=204)


@router.post("/jobs/{identifier}/outputs", status_code=204)
def report_outputs(
    identifier: str, body: schema.OutputsReport, backend: BackendDep, session: SessionDep
) -> Response:
    """Keep the outputs a runner reports (at most `schema.MAX_OUTPUTS`, 422 past it).

    Every path is checked before a row is written, and the rows go in as one bulk insert (and
    one bulk update for paths a repeated report names again) in one short transaction: SQLite
    has one writer at a time, and a row-by-row merge of thousands held its lock for seconds,
    so that every other writer was answered "database is locked"."""
    runner_reports.report_outputs(session, backend, identifier, body)
    return Response(status_code=204)
