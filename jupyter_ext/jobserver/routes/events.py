"""`GET /events`: Server-Sent Events of jobs, job requests and logs, resumable.

A client that reconnects with `Last-Event-ID` first gets what it missed from
the stored events, then live ones. Each event is sent once: ids already sent
are remembered, so events that commit out of id order (several writers on
PostgreSQL) are neither lost nor repeated.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sse_starlette.sse import EventSourceResponse

from .. import orm
from ..deps import CallerDep, SessionDep, permission
from ..pagination import INT64_MAX
from ..permissions import Permission as P
from ._common import backend_named, workspace_named
from .projects import visible_projects

router = APIRouter(tags=["events"])
REPLAY_PAGE = 2_000
REMEMBERED = 20_000  # ids of sent events kept to skip repeats
KINDS = ("job", "job_request", "log", "release")


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
        for column, value in ((orm.Event.workspace_id, self.workspace_id),
                              (orm.Event.backend_id, self.backend_id),
                              (orm.Event.job_request_id, self.job_request)):  # fmt: skip
            if value is not None:
                query = query.where(column == value)
        return query.order_by(orm.Event.id).limit(REPLAY_PAGE)


def event_filter(
    caller: CallerDep, session: SessionDep, workspace: str | None = None,
    backend: str | None = None, job_request: str | None = None,
    kind: list[str] = Query(list(KINDS), description="job, job_request, log, release"),
) -> EventFilter:  # fmt: skip
    """What the caller may see and asked for (a sync dependency: it runs off the event loop)."""
    projects = None
    if not caller.can(P.PROJECT_VIEW):
        ids = session.scalars(visible_projects(caller).with_only_columns(orm.Project.id))
        projects = frozenset(ids)
    wanted = EventFilter(
        projects=projects,
        workspace_id=workspace_named(session, workspace).id if workspace else None,
        backend_id=backend_named(session, backend).id if backend else None,
        job_request=job_request,
        kinds=frozenset(kind),
    )
    session.close()  # a stream may last hours: it holds no database connection
    return wanted


@router.get("/events", response_class=EventSourceResponse, openapi_extra=permission(P.SIGNED_IN))
async def events(
    request: Request, wanted: Annotated[EventFilter, Depends(event_filter)],
    last_event_id: int | None = Header(None, ge=0, le=INT64_MAX, description="Resume after it."),
) -> EventSourceResponse:  # fmt: skip
    """Events of the projects the caller may view, filtered like the event log."""
    bus = request.app.state.bus
    subscription = bus.subscribe(wanted.matches)  # before the replay: nothing falls between

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
            after = last_event_id
            while after is not None:  # page through what was missed
                rows = await run_in_threadpool(replay, after)
                for row in rows:
                    if fresh(row):
                        yield _message(row)
                after = rows[-1].id if len(rows) == REPLAY_PAGE else None
            while not subscription.dropped:
                try:
                    row = await asyncio.wait_for(subscription.queue.get(), 15)
                except TimeoutError:
                    continue  # sse-starlette sends its own keep-alive pings
                if fresh(row):
                    yield _message(row)
            yield {"event": "reconnect", "data": "falling behind: reconnect with Last-Event-ID"}
        finally:
            bus.unsubscribe(subscription)

    return EventSourceResponse(stream(), ping=15)


def _message(row: orm.Event) -> dict:
    return {"id": str(row.id), "event": row.kind, "data": json.dumps(row.data)}
