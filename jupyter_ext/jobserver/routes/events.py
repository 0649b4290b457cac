"""`GET /events`: Server-Sent Events of jobs, job requests and logs, resumable.

A client that reconnects with `Last-Event-ID` first gets what it missed from
the stored events, then live ones. Each event is sent once: ids already sent
are remembered, so events that commit out of id order (several writers on
PostgreSQL) are neither lost nor repeated.

A stream follows its caller's access as it changes: each event is checked against
what the caller may see now. That is re-read only when the bus's access generation
moved (a membership, a role, a token or a sign-in changed) or every `RECHECK`
seconds (for what the bus cannot see: a sign-out at the hub, the admin command).
A caller whose credentials no longer hold is told to reconnect, and the stream ends.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from sse_starlette.sse import EventSourceResponse

from .. import orm
from ..callers import Caller
from ..deps import SessionDep, requires, resolve_caller
from ..errors import ProblemError
from ..pagination import INT64_MAX
from ..permissions import Permission as P
from ..services.event_stream import KINDS, REPLAY_PAGE, EventFilter, projects_seen_by, replay
from ..services.event_stream import event_filter as filter_for

router = APIRouter(tags=["events"])
REMEMBERED = 20_000  # ids of sent events kept to skip repeats
RECHECK = 60.0  # seconds between looks at a stream's credentials when nothing changed here
OPENED = {"comment": "open"}
ENDED = "your access changed: reconnect (and sign in again if refused)"
log = logging.getLogger("jupyter_ext.jobserver")


def event_filter(
    caller: Annotated[Caller, requires(P.SIGNED_IN)],
    session: SessionDep,
    workspace: str | None = None,
    backend: str | None = None,
    job_request: str | None = None,
    run: str | None = Query(None, description="A study run: the events of its job requests."),
    kind: list[str] = Query(list(KINDS), description="job, job_request, log, release"),
) -> EventFilter:
    """What the caller may see and asked for (a sync dependency: it runs off the event loop)."""
    wanted = filter_for(
        session,
        caller,
        workspace=workspace,
        backend=backend,
        job_request=job_request,
        run=run,
        kinds=kind,
    )
    session.close()  # a stream may last hours: it holds no database connection
    return wanted


class Access:
    """What an open stream's caller may see now, re-read only when it may have changed."""

    def __init__(self, request: Request, wanted: EventFilter, generation: int) -> None:
        self.request, self.filter, self.generation = request, wanted, generation
        self.checked = time.monotonic()

    def matches(self, event: orm.Event) -> bool:
        return self.filter.matches(event)

    async def holds(self) -> bool:
        """Whether the caller is still signed in; their visible projects brought up to date.
        Costs nothing unless the access generation moved or `RECHECK` seconds passed."""
        generation = self.request.app.state.bus.access_generation
        due = time.monotonic() - self.checked > RECHECK
        if generation == self.generation and not due:
            return True
        self.generation, self.checked = generation, time.monotonic()  # read before the check
        try:
            projects = await run_in_threadpool(self._projects_now, due)
        except ProblemError:
            return False
        except Exception:  # deny by default: a stream that cannot tell ends
            log.exception("re-checking a stream's access failed; ending it")
            return False
        self.filter = replace(self.filter, projects=projects)
        return True

    def _projects_now(self, fresh: bool) -> frozenset[int] | None:
        with self.request.app.state.sessionmaker() as session:
            return projects_seen_by(session, resolve_caller(self.request, session, fresh))


async def _generation(request: Request) -> int:
    """The access generation before the caller is resolved: a change after it is seen."""
    return request.app.state.bus.access_generation


@router.get("/events", response_class=EventSourceResponse)
async def events(
    request: Request,
    generation: Annotated[int, Depends(_generation)],
    wanted: Annotated[EventFilter, Depends(event_filter)],
    last_event_id: int | None = Header(None, ge=0, le=INT64_MAX, description="Resume after it."),
) -> EventSourceResponse:
    """Events of the projects the caller may view, filtered like the event log; the stream
    follows the caller's access as it changes."""
    bus = request.app.state.bus
    access = Access(request, wanted, generation)
    subscription = bus.subscribe(access.matches)  # before the replay: nothing falls between

    def missed(after: int) -> list[orm.Event]:
        with request.app.state.sessionmaker() as session:
            return replay(session, wanted, after)

    async def stream() -> AsyncIterator[dict]:
        sent: set[int] = set()
        order: deque[int] = deque()

        def fresh(row: orm.Event) -> bool:
            if row.id in sent:
                return False
            sent.add(row.id)
            order.append(row.id)
            if len(order) > REMEMBERED:
                sent.discard(order.popleft())
            return True

        try:
            # at once: a proxy in front (the hub's) sends the headers on with the first bytes of
            # the body, so without this the browser hears of the stream at the first ping
            yield OPENED
            after = last_event_id
            while after is not None:  # page through what was missed
                rows = await run_in_threadpool(missed, after)
                for row in rows:
                    if not await access.holds():
                        yield {"event": "reconnect", "data": ENDED}
                        return
                    if access.matches(row) and fresh(row):
                        yield _message(row)
                after = rows[-1].id if len(rows) == REPLAY_PAGE else None
            while not subscription.dropped:
                try:
                    row = await asyncio.wait_for(subscription.queue.get(), 15)
                except TimeoutError:
                    row = None  # sse-starlette sends its own keep-alive pings
                if not await access.holds():
                    yield {"event": "reconnect", "data": ENDED}
                    return
                if row is not None and access.matches(row) and fresh(row):
                    yield _message(row)
            yield {"event": "reconnect", "data": "falling behind: reconnect with Last-Event-ID"}
        finally:
            bus.unsubscribe(subscription)

    return EventSourceResponse(stream(), ping=15)


def _message(row: orm.Event) -> dict:
    return {"id": str(row.id), "event": row.kind, "data": json.dumps(row.data)}
