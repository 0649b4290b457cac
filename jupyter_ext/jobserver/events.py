"""Live events: stored with the change that caused them, fanned out after it commits.

`emit()` adds an event row to the session's transaction; when the transaction
commits, the bus hands it to every subscriber in this process whose filter
matches (and wakes the runners of a backend that has new work). Subscribers
that fall too far behind are dropped and told to reconnect, which resumes from
the stored events with Last-Event-ID.

A commit that changes who may see what (a project membership, global roles, an API
token revoked, a sign-in ended) bumps the bus's access generation, in every process
on a shared database too: open streams compare it on each event and re-read their
caller's access only when it moved.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from itertools import chain
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import event as sa_event
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session, sessionmaker
from traitlets import Float, Integer
from traitlets.config import LoggingConfigurable

from . import orm

CHANNEL = "jupyter_ext_events"
NOTIFY_BATCH = 500  # ids per NOTIFY: a payload must stay under 8,000 bytes
log = logging.getLogger("jupyter_ext.jobserver")


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


def emit_job(session: Session, job: orm.Job) -> None:
    """The job's new shape, to everyone watching its workspace."""
    from .views import job as job_view

    request = job.job_request
    emit(
        session,
        "job",
        job_view(job, request).model_dump(mode="json"),
        workspace=request.workspace,
        backend=request.backend,
        job_request_id=request.id,
    )


def emit_release(session: Session, release: orm.Release) -> None:
    """That a release changed, to everyone watching its workspace: only its id and state,
    since who may see its files is the API's business (`GET /releases/{id}`)."""
    emit(
        session,
        "release",
        {"id": release.id, "workspace": release.workspace.name, "state": release.state},
        workspace=release.workspace,
        backend=release.backend,
    )


# Rows whose change changes someone's access, and the columns that matter (None: any change).
ACCESS_COLUMNS: dict[type, tuple[str, ...] | None] = {
    orm.ProjectMember: None,
    orm.User: ("roles",),
    orm.ApiToken: ("revoked_at", "expires_at", "scope"),
    orm.SignInSession: ("ended_at",),
}


def changes_access(session: Session) -> bool:
    """Whether this flush adds, removes or changes a row that says who may see what."""
    for row in chain(session.new, session.deleted, session.dirty):
        if type(row) not in ACCESS_COLUMNS:
            continue
        columns = ACCESS_COLUMNS[type(row)]
        if columns is None or row in session.new or row in session.deleted:
            return True
        if any(inspect(row).attrs[c].history.has_changes() for c in columns):
            return True
    return False


def wake_backend(session: Session, backend_id: int) -> None:
    """After this commit, answer the waiting long-polls of that backend's runners."""
    session.info.setdefault("wake", set()).add(backend_id)


@dataclass(eq=False)  # each subscription is its own: hashed by identity
class Subscription:
    matches: Callable[[orm.Event], bool]
    queue: asyncio.Queue
    dropped: bool = False


class EventBus(LoggingConfigurable):
    """Hands committed events to this process's subscribers (`c.EventBus.*` configures it).

    `shared`: several processes share the (PostgreSQL) database, so events fan out through
    it (NOTIFY/LISTEN) rather than straight from the commit.
    """

    queue_size = Integer(
        10_000,
        help="""Events a live stream may have waiting before it is dropped and told to
        reconnect (it then resumes from the stored events). E.g. `c.EventBus.queue_size =
        50_000`.""",
    ).tag(config=True)
    listen_retry_max = Float(
        5.0,
        help="""The longest wait, in seconds, before listening to the database again after
        the connection was lost (PostgreSQL only); the first wait is 0.1 s, doubled each time.""",
    ).tag(config=True)

    def __init__(self, shared: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.shared = shared  # several processes share the database: fan out through it
        self.listening = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.subscriptions: set[Subscription] = set()
        self.backend_waiters: dict[int, asyncio.Event] = {}
        self.work_seen: dict[int, int] = {}  # per backend: how many times it was woken
        self.access_generation = 0  # moves whenever anyone's access may have changed
        self._lock = threading.Lock()

    def access_changed(self) -> None:
        with self._lock:
            self.access_generation += 1

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def attach(self, factory: sessionmaker) -> None:
        """Publish each session's events once it commits, and forget them on rollback.

        On PostgreSQL the commit itself carries a NOTIFY with the events' ids, and every
        job server process on the database (this one included) fans them out from its
        listener; elsewhere they are handed straight to this process's subscribers.
        """

        @sa_event.listens_for(factory, "before_flush")
        def _watch_access(session: Session, _context, _instances) -> None:
            if not session.info.get("access") and changes_access(session):
                session.info["access"] = True

        @sa_event.listens_for(factory, "before_commit")
        def _notify(session: Session) -> None:
            if not self.shared:
                return
            session.flush()  # so that a change of access is seen before deciding
            info = session.info
            if not (info.get("events") or info.get("wake") or info.get("access")):
                return
            ids = [row.id for row in info.get("events", [])]
            wake, access = sorted(info.get("wake", ())), bool(info.get("access"))
            for start in range(0, max(len(ids), 1), NOTIFY_BATCH):
                batch = ids[start : start + NOTIFY_BATCH]
                payload = json.dumps({"events": batch, "wake": wake, "access": access})
                session.execute(
                    text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": CHANNEL, "payload": payload},
                )

        @sa_event.listens_for(factory, "after_commit")
        def _committed(session: Session) -> None:
            if session.info.pop("access", False):
                self.access_changed()  # here at once, before this commit's caller goes on
            rows = session.info.pop("events", [])
            wake = session.info.pop("wake", set())
            if (rows or wake) and not self.shared:
                self.publish([_detached(r) for r in rows], wake)

        @sa_event.listens_for(factory, "after_rollback")
        def _rolled_back(session: Session) -> None:
            session.info.pop("events", None)
            session.info.pop("wake", None)
            session.info.pop("access", None)

    async def listen(self, factory: sessionmaker) -> None:
        """Fan out what every process on this PostgreSQL database commits (runs for ever)."""
        import psycopg

        url = factory.kw["bind"].url.set(drivername="postgresql")
        conninfo = url.render_as_string(hide_password=False)
        backoff = 0.1
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening.set()
                    backoff = 0.1
                    async for note in conn.notifies():
                        await self._fetch_and_deliver(factory, json.loads(note.payload))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning(
                    "listening for events failed; retrying in %.1f s", backoff, exc_info=True
                )
                self.listening.clear()
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.listen_retry_max)

    async def _fetch_and_deliver(self, factory: sessionmaker, payload: dict) -> None:
        if payload.get("access"):  # before this commit's events: they are checked against it
            self.access_changed()
        ids = payload.get("events", [])

        def fetch() -> list[orm.Event]:
            with factory() as session:
                rows = session.scalars(
                    select(orm.Event).where(orm.Event.id.in_(ids)).order_by(orm.Event.id)
                ).all()
                return [_detached(r) for r in rows]

        rows = await run_in_threadpool(fetch) if ids else []
        self._deliver(rows, set(payload.get("wake", ())))

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
            self.work_seen[backend_id] = self.work_seen.get(backend_id, 0) + 1
            waiter = self.backend_waiters.pop(backend_id, None)
            if waiter is not None:
                waiter.set()

    def subscribe(self, matches: Callable[[orm.Event], bool]) -> Subscription:
        sub = Subscription(matches, asyncio.Queue(self.queue_size))
        self.subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscriptions.discard(sub)

    def work_mark(self, backend_id: int) -> int:
        """Read before looking for a backend's work; `wait_for_work` then sleeps only if no
        work came since (a wake between the look and the sleep is not lost)."""
        return self.work_seen.get(backend_id, 0)

    async def wait_for_work(self, backend_id: int, timeout: float, mark: int | None = None) -> None:
        """Sleep until this backend may have new work, or `timeout` passes; at once if it was
        woken since `mark` was read."""
        if mark is not None and self.work_seen.get(backend_id, 0) != mark:
            return
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
