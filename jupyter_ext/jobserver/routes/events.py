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
from dataclasses import dataclass, replace
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sse_starlette.sse import EventSourceResponse

from .. import orm
from ..deps import Caller, CallerDep, SessionDep, permission, resolve_caller
from ..errors import ProblemError
from ..pagination import INT64_MAX
from ..permissions import Permission as P
from ._common import backend_named, workspace_named
from .projects import visible_projects

router = APIRouter(tags=["events"])
REPLAY_PAGE = 2_000
REMEMBERED = 20_000  # ids of sent events kept to skip repeats
KINDS = ("job", "job_request", "log", "release")
RECHECK = 60.0  # seconds between looks at a stream's credentials when nothing changed here
OPENED = {"comment": "open"}
ENDED = "your access changed: reconnect (and sign in again if refused)"
log = logging.getLogger("jupyter_ext.jobserver")


@dataclass(frozen=True)
class EventFilter:
    projects: frozenset[int] | None  # None: every project
    workspace_id: int | None
    backend_id: int | None
    job_request: str | None
    kinds: frozenset[str]

    def matches(self, event: orm.Event) -> bool:
        return (
            event.kind in self.kinds
            and (self.projects is None or event.project_id in self.projects)
            and (self.workspace_id is None or event.workspace_id == self.workspace_id)
            and (self.backend_id is None or event.backend_id == self.backend_id)
            and (self.job_request is None or event.job_request_id == self.job_request)
        )

    def query(self, after: int):
        query = select(orm.Event).where(orm.Event.id > after, orm.Event.kind.in_(self.kinds))
        if self.projects is not None:
            query = query.where(orm.Event.project_id.in_(self.projects))
        for column, value in (
            (orm.Event.workspace_id, self.workspace_id),
            (orm.Event.backend_id, self.backend_id),
            (orm.Event.job_request_id, self.job_request),
        ):
            if value is not None:
                query = query.where(column == value)
        return query.order_by(orm.Event.id).limit(REPLAY_PAGE)


def projects_seen_by(caller: Caller, session) -> frozenset[int] | None:
    """The ids of the projects whose events the caller may see (None: every project)."""
    if caller.can(P.PROJECT_VIEW):
        return None
    return frozenset(session.scalars(visible_projects(caller).with_only_columns(orm.Project.id)))


def event_filter(
    caller: CallerDep,
    session: SessionDep,
    workspace: str | None = None,
    backend: str | None = None,
    job_request: str | None = None,
    kind: list[str] = Query(list(KINDS), description="job, job_request, log, release"),
) -> EventFilter:
    """What the caller may see and asked for (a sync dependency: it runs off the event loop)."""
    wanted = EventFilter(
        projects=projects_seen_by(caller, session),
        workspace_id=workspace_named(session, workspace).id if workspace else None,
        backend_id=backend_named(session, backend).id if backend else None,
        job_request=job_request,
        kinds=frozenset(kind),
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
            return projects_seen_by(resolve_caller(self.request, session, fresh), session)


async def _generation(request: Request) -> int:
    """The access generation before the caller is resolved: a change after it is seen."""
    return request.app.state.bus.access_generation


@router.get("/events", response_class=EventSourceResponse, openapi_extra=permission(P.SIGNED_IN))
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

    def replay(after: int) -> list[orm.Event]:
        with request.app.state.sessionmaker() as session:
            return list(session.scalars(wanted.query(after)))

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
                rows = await run_in_threadpool(replay, after)
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
