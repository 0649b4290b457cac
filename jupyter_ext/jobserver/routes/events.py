"""`GET /events`: Server-Sent Events of jobs, job requests and logs, resumable.

A client that reconnects with `Last-Event-ID` first gets what it missed from
the stored events, then live ones; each event is sent once, in order.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sse_starlette.sse import EventSourceResponse

from .. import orm
from ..deps import CallerDep, SessionDep, permission
from ..permissions import Permission as P
from ._common import backend_named, workspace_named
from .projects import visible_projects

router = APIRouter(tags=["events"])
REPLAY_LIMIT = 10_000
KINDS = ("job", "job_request", "log")


@router.get("/events", response_class=EventSourceResponse, openapi_extra=permission(P.SIGNED_IN))
async def events(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    workspace: str | None = None,
    backend: str | None = None,
    job_request: str | None = None,
    kind: list[str] = Query(list(KINDS), description="job, job_request, log"),
    last_event_id: int | None = Header(None, description="Resume after this event."),
) -> EventSourceResponse:
    """Events of the projects the caller may view, filtered like the event log."""
    everything = caller.can(P.PROJECT_VIEW)
    projects = (
        None
        if everything
        else set(session.scalars(visible_projects(caller).with_only_columns(orm.Project.id)))
    )
    workspace_id = workspace_named(session, workspace).id if workspace else None
    backend_id = backend_named(session, backend).id if backend else None
    kinds = set(kind)
    session.close()  # the stream may last hours: hold no connection

    def matches(event: orm.Event) -> bool:
        return (
            event.kind in kinds
            and (projects is None or event.project_id in projects)
            and (workspace_id is None or event.workspace_id == workspace_id)
            and (backend_id is None or event.backend_id == backend_id)
            and (job_request is None or event.job_request_id == job_request)
        )

    bus = request.app.state.bus
    subscription = bus.subscribe(matches)  # before the replay, so nothing falls between

    def replay(after: int) -> list[orm.Event]:
        with request.app.state.sessionmaker() as s:
            rows = s.scalars(
                select(orm.Event)
                .where(orm.Event.id > after)
                .order_by(orm.Event.id)
                .limit(REPLAY_LIMIT)
            ).all()
            return [r for r in rows if matches(r)]

    async def stream() -> AsyncIterator[dict]:
        sent = last_event_id or 0
        try:
            if last_event_id is not None:
                for row in await run_in_threadpool(replay, last_event_id):
                    sent = row.id
                    yield _message(row)
            while not subscription.dropped:
                try:
                    row = await asyncio.wait_for(subscription.queue.get(), 15)
                except TimeoutError:
                    continue  # sse-starlette sends its own keep-alive pings
                if row.id > sent:
                    sent = row.id
                    yield _message(row)
            yield {"event": "reconnect", "data": "falling behind: reconnect with Last-Event-ID"}
        finally:
            bus.unsubscribe(subscription)

    return EventSourceResponse(stream(), ping=15)


def _message(row: orm.Event) -> dict:
    return {"id": str(row.id), "event": row.kind, "data": json.dumps(row.data)}
