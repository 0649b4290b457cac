"""Prometheus metrics of the job server: `GET /metrics`, guarded as JupyterHub guards its own.

Each app has its own `CollectorRegistry` (never the process's global one), so several apps
in one process (tests) export separately, and each job server process sharing a database
is scraped on its own: what it counted (requests, log lines, expired leases, failed
notifications) is its own; what the database says (jobs, queues, releases, runners) every
process reports alike, read at scrape time by `DatabaseCollector` in a few GROUP BY queries
rather than counted in memory, so a restart loses nothing and processes never disagree.

Who may read them: JupyterHub asks for the `read:metrics` scope unless
`authenticate_prometheus` is off; here a caller needs the permission `metrics_view` (core
developers; through an API token, a hub token or a browser's sign-in) or the configured
`metrics_token` as `Authorization: Bearer`, unless `authenticate_metrics` is off.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from ..schema.states import JobState, ReleaseState
from . import orm
from .deps import SessionDep, _bearer, resolve_caller
from .permissions import Permission as P

if TYPE_CHECKING:
    from .app import JobServerApp
    from .events import EventBus
    from .notifications import Notifier

UNMATCHED = "unmatched"  # the route label of a request no route took (never its raw path)
ACTIVE = (JobState.PENDING, JobState.RUNNING)


class JobServerMetrics:
    """The metrics of one app: counters its parts increment, gauges read when scraped."""

    def __init__(
        self, factory: sessionmaker, bus: EventBus, settings: JobServerApp, notifier: Notifier
    ) -> None:
        self.registry = registry = CollectorRegistry()
        self.requests = Histogram(
            "jupyter_ext_http_request_duration_seconds",
            "Requests answered, by route template, method and status code, and how long each "
            "took to its last byte (its _count is the number of requests)",
            ["route", "method", "code"],
            registry=registry,
        )
        self.expired = Counter(
            "jupyter_ext_leases_expired",
            "Jobs whose runner stopped renewing their lease, failed or queued again",
            ["outcome"],
            registry=registry,
        )
        self.log_lines = Counter(
            "jupyter_ext_log_received_lines",
            "Log lines received from runners",
            ["backend"],
            registry=registry,
        )
        self.log_bytes = Counter(
            "jupyter_ext_log_received_bytes",
            "Bytes of log lines received from runners (UTF-8)",
            ["backend"],
            registry=registry,
        )
        self.notification_failures = Counter(
            "jupyter_ext_notification_failures",
            "Notifications whose sending failed (each try), by channel",
            ["channel"],
            registry=registry,
        )
        subscribers = Gauge(
            "jupyter_ext_sse_subscribers",
            "Live event streams open on this process",
            registry=registry,
        )
        subscribers.set_function(lambda: len(bus.subscriptions))
        registry.register(DatabaseCollector(factory, settings))
        notifier.on_failure = lambda channel: self.notification_failures.labels(channel).inc()

    def leases_expired(self, count: int, requeued: bool) -> None:
        if count:
            self.expired.labels("requeued" if requeued else "failed").inc(count)

    def log_received(self, backend: str, lines: list[str]) -> None:
        self.log_lines.labels(backend).inc(len(lines))
        self.log_bytes.labels(backend).inc(sum(len(line.encode()) for line in lines))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class DatabaseCollector(Collector):
    """What the database says, read at each scrape: four queries, whatever the history."""

    def __init__(self, factory: sessionmaker, settings: JobServerApp) -> None:
        self.factory, self.settings = factory, settings

    def describe(self) -> list:
        return []  # read only when scraped: registering it must not query the database

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = orm.utcnow()
        with self.factory() as session:
            backends = session.execute(
                select(orm.Backend.id, orm.Backend.slug, orm.Backend.last_seen_at)
            ).all()
            jobs = session.execute(
                select(
                    orm.Job.backend_id, orm.Job.state, func.count(), func.min(orm.Job.created_at)
                ).group_by(orm.Job.backend_id, orm.Job.state)
            ).all()
            active = (
                select(orm.Job.job_request_id).where(orm.Job.state.in_(ACTIVE)).distinct()
            ).scalar_subquery()
            requests = session.execute(
                select(orm.Job.job_request_id, orm.Job.backend_id, orm.Job.state)
                .where(orm.Job.job_request_id.in_(active))
                .group_by(orm.Job.job_request_id, orm.Job.backend_id, orm.Job.state)
            ).all()
            releases = session.execute(
                select(orm.Release.backend_id, func.count(), func.min(orm.Release.created_at))
                .where(orm.Release.state == ReleaseState.REQUESTED)
                .group_by(orm.Release.backend_id)
            ).all()
        slug = {b.id: b.slug for b in backends}
        yield from self._jobs(slug, jobs, now)
        yield self._requests(slug, requests)
        yield from self._runners(backends, now)
        yield from self._releases(slug, releases, now)

    def _jobs(self, slug: dict[int, str], rows: list, now) -> Iterator[GaugeMetricFamily]:
        by_state = GaugeMetricFamily(
            "jupyter_ext_jobs", "Jobs by backend and state", labels=["backend", "state"]
        )
        depth = GaugeMetricFamily(
            "jupyter_ext_queued_jobs", "Jobs pending on each backend", labels=["backend"]
        )
        age = GaugeMetricFamily(
            "jupyter_ext_queue_oldest_age_seconds",
            "Age of the oldest job pending on each backend (0: none)",
            labels=["backend"],
        )
        pending = {b: (0, None) for b in slug}
        for backend_id, state, count, oldest in rows:
            by_state.add_metric([slug[backend_id], state], count)
            if state == JobState.PENDING:
                pending[backend_id] = (count, oldest)
        for backend_id, (count, oldest) in pending.items():
            depth.add_metric([slug[backend_id]], count)
            age.add_metric([slug[backend_id]], _age(now, oldest))
        yield from (by_state, depth, age)

    def _requests(self, slug: dict[int, str], rows: list) -> GaugeMetricFamily:
        """A request is pending while all its jobs are, running once one has started (as
        `views.job_request_state` says); finished ones are not counted (history grows)."""
        states: dict[tuple[str, int], set[str]] = {}
        for request_id, backend_id, state in rows:
            states.setdefault((request_id, backend_id), set()).add(state)
        counts = {(b, s): 0 for b in slug for s in ACTIVE}
        for (_, backend_id), seen in states.items():
            state = JobState.PENDING if seen == {JobState.PENDING} else JobState.RUNNING
            counts[(backend_id, state)] += 1
        family = GaugeMetricFamily(
            "jupyter_ext_job_requests_unfinished",
            "Job requests not finished yet, by backend and state (pending, running)",
            labels=["backend", "state"],
        )
        for (backend_id, state), count in counts.items():
            family.add_metric([slug[backend_id], state.value], count)
        return family

    def _runners(self, backends: list, now) -> Iterator[GaugeMetricFamily]:
        """A runner is online while it called within `lease_seconds` (heartbeat or poll):
        past that, the leases of its jobs run out."""
        window = self.settings.lease_seconds
        online = GaugeMetricFamily(
            "jupyter_ext_runners_online",
            f"Backends whose runner called in the last lease_seconds ({window:g} s)",
        )
        seen = GaugeMetricFamily(
            "jupyter_ext_runner_last_seen_age_seconds",
            "Seconds since each backend's runner last called in (absent: never)",
            labels=["backend"],
        )
        count = 0
        for backend in backends:
            if backend.last_seen_at is None:
                continue
            age = _age(now, backend.last_seen_at)
            seen.add_metric([backend.slug], age)
            count += age <= window
        online.add_metric([], count)
        yield from (online, seen)

    def _releases(self, slug: dict[int, str], rows: list, now) -> Iterator[GaugeMetricFamily]:
        waiting = GaugeMetricFamily(
            "jupyter_ext_releases_awaiting_review",
            "Releases requested and not yet decided, by backend",
            labels=["backend"],
        )
        age = GaugeMetricFamily(
            "jupyter_ext_release_review_oldest_age_seconds",
            "Age of the oldest release awaiting review on each backend (0: none)",
            labels=["backend"],
        )
        found = {backend_id: (count, oldest) for backend_id, count, oldest in rows}
        for backend_id, name in slug.items():
            count, oldest = found.get(backend_id, (0, None))
            waiting.add_metric([name], count)
            age.add_metric([name], _age(now, oldest))
        yield from (waiting, age)


def _age(now, then) -> float:
    if then is None:
        return 0.0
    if then.tzinfo is None:  # SQLite hands aggregates back without their time zone
        then = then.replace(tzinfo=now.tzinfo)
    return max(0.0, (now - then).total_seconds())


def route_templates(routes: list, prefix: str = "") -> dict[int, str]:
    """Each route's whole path template, by the route's id: FastAPI keeps an included router
    whole, so the route a request matched knows only its path inside its router."""
    found: dict[int, str] = {}
    for route in routes:
        if (included := getattr(route, "original_router", None)) is not None:
            inner = prefix + route.include_context.prefix
            found = {**route_templates(included.routes, inner), **found}
        elif (path := getattr(route, "path_format", None)) is not None:
            found.setdefault(id(route), prefix + path)
    return found


class CountRequests:
    """ASGI middleware: each request observed by route template (`/api/v1/jobs/{identifier}`,
    never the raw path: no ids in labels), method and status code. A clock read, a dict
    look-up and one observe."""

    def __init__(self, app: Any, metrics: JobServerMetrics, prefix: str = "") -> None:
        self.app, self.histogram, self.prefix = app, metrics.requests, prefix.rstrip("/")
        self.templates: dict[int, str] | None = None  # read at the first request: all routes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        code = 500  # an error that sent nothing

        async def sending(message: dict) -> None:
            nonlocal code
            if message["type"] == "http.response.start":
                code = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            self.histogram.labels(self._label(scope), scope["method"], str(code)).observe(
                time.perf_counter() - start
            )

    def _label(self, scope: dict) -> str:
        """The matched route's template without the base URL; UNMATCHED if none matched."""
        route = scope.get("route")
        if route is None:
            return UNMATCHED
        if self.templates is None:
            self.templates = route_templates(scope["app"].routes)
        path = self.templates.get(id(route)) or getattr(route, "path_format", None)
        return (path.removeprefix(self.prefix) or "/") if path else UNMATCHED


def _same(given: str, expected: str) -> bool:
    """Compared in constant time (of the digests: the lengths tell nothing either)."""
    digest = hashlib.sha256
    return hmac.compare_digest(digest(given.encode()).digest(), digest(expected.encode()).digest())


def metrics_reader(request: Request, session: SessionDep) -> None:
    """Deny by default: the metrics token, or a caller with `metrics_view`; 401 or 403."""
    settings = request.app.state.settings
    if not settings.authenticate_metrics:
        return
    token = _bearer(request)
    if token is not None and settings.metrics_token and _same(token, settings.metrics_token):
        return
    resolve_caller(request, session).require(P.METRICS_VIEW)


def install(app: FastAPI, metrics: JobServerMetrics, prefix: str) -> None:
    """`{prefix}/metrics` (as JupyterHub's `/hub/metrics`), and the requests' middleware.
    Not in the OpenAPI schema: it speaks Prometheus's text format, not the API's JSON."""
    app.state.metrics = metrics

    @app.get(f"{prefix}/metrics", include_in_schema=False, dependencies=[Depends(metrics_reader)])
    def scrape() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(CountRequests, metrics=metrics, prefix=prefix)
