"""Live events: stored with the change that caused them, fanned out after it commits.

`emit()` adds an event row to the session's transaction; when the transaction
commits, the bus hands it to every subscriber in this process whose filter
matches (and wakes the runners of a backend that has new work). Subscribers
that fall too far behind are dropped and told to reconnect, which resumes from
the stored events with Last-Event-ID.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, sessionmaker

from . import orm

QUEUE_SIZE = 10_000


def emit(
    session: Session,
    kind: str,
    data: dict[str, Any],
    *,
    project_id: int | None = None,
    workspace: orm.Workspace | None = None,
    backend: orm.Backend | None = None,
    job_request_id: str | None = None,
) -> None:
    row = orm.Event(
        kind=kind,
        data=data,
        project_id=project_id
        if project_id is not None
        else (workspace.project_id if workspace else None),
        workspace_id=workspace.id if workspace else None,
        backend_id=backend.id if backend else None,
        job_request_id=job_request_id,
    )
    session.add(row)
    session.info.setdefault("events", []).append(row)


def wake_backend(session: Session, backend_id: int) -> None:
    """After this commit, answer the waiting long-polls of that backend's runners."""
    session.info.setdefault("wake", set()).add(backend_id)


@dataclass(eq=False)  # each subscription is its own: hashed by identity
class Subscription:
    matches: Callable[[orm.Event], bool]
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    dropped: bool = False


class EventBus:
    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.subscriptions: set[Subscription] = set()
        self.backend_waiters: dict[int, asyncio.Event] = {}
        self._lock = threading.Lock()

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def attach(self, factory: sessionmaker) -> None:
        """Publish each session's events once it commits, and forget them on rollback."""

        @sa_event.listens_for(factory, "after_commit")
        def _committed(session: Session) -> None:
            rows = session.info.pop("events", [])
            wake = session.info.pop("wake", set())
            if rows or wake:
                self.publish([_detached(r) for r in rows], wake)

        @sa_event.listens_for(factory, "after_rollback")
        def _rolled_back(session: Session) -> None:
            session.info.pop("events", None)
            session.info.pop("wake", None)

    def publish(self, rows: list[orm.Event], wake: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        if self.loop is None or self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self._deliver, rows, set(wake))

    def _deliver(self, rows: list[orm.Event], wake: set[int]) -> None:
        for row in rows:
            for sub in list(self.subscriptions):
                if sub.dropped or not sub.matches(row):
                    continue
                try:
                    sub.queue.put_nowait(row)
                except asyncio.QueueFull:
                    sub.dropped = True
                    self.subscriptions.discard(sub)
        for backend_id in wake | {
            r.backend_id for r in rows if r.kind == "job_request" and r.backend_id
        }:
            waiter = self.backend_waiters.pop(backend_id, None)
            if waiter is not None:
                waiter.set()

    def subscribe(self, matches: Callable[[orm.Event], bool]) -> Subscription:
        sub = Subscription(matches)
        self.subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscriptions.discard(sub)

    async def wait_for_work(self, backend_id: int, timeout: float) -> None:
        """Sleep until this backend may have new work, or `timeout` passes."""
        waiter = self.backend_waiters.setdefault(backend_id, asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(waiter.wait(), timeout)


def _detached(row: orm.Event) -> orm.Event:
    """A copy that lives outside the session, safe to read on the event loop."""
    return orm.Event(
        id=row.id,
        kind=row.kind,
        project_id=row.project_id,
        workspace_id=row.workspace_id,
        backend_id=row.backend_id,
        job_request_id=row.job_request_id,
        data=row.data,
        created_at=row.created_at,
    )
