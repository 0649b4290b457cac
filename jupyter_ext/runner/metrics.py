"""Prometheus metrics of one runner, on a loopback port of the site (off by default).

A site accepts no connections from outside, so the runner's metrics are for the site's own
monitoring: `c.RunnerApp.metrics_port` > 0 serves them at `http://127.0.0.1:<port>/metrics`
(never another address), from prometheus_client's small HTTP server in a thread of its own.
Each runner has its own `CollectorRegistry`, so several in one process (tests) stay apart.
The counters are this process's since it started, as Prometheus expects of counters.
"""

from __future__ import annotations

from collections.abc import Callable, Sized

from prometheus_client import CollectorRegistry, Counter, Gauge, start_http_server

LOOPBACK = "127.0.0.1"


class RunnerMetrics:
    """What the agent counts; `watch` names what it is running, read when scraped."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        self.running = Gauge(
            "jupyter_ext_runner_jobs_running",
            "Jobs this runner runs now (or whose end it is still reporting)",
            registry=registry,
        )
        self.finished = Counter(
            "jupyter_ext_runner_jobs_finished",
            "Jobs this runner finished, by the state it reported",
            ["state"],
            registry=registry,
        )
        self.lines = Counter(
            "jupyter_ext_runner_log_shipped_lines",
            "Log lines the job server accepted from this runner",
            registry=registry,
        )
        self.bytes = Counter(
            "jupyter_ext_runner_log_shipped_bytes",
            "Bytes of log lines the job server accepted from this runner (UTF-8)",
            registry=registry,
        )
        self.heartbeats_failed = Counter(
            "jupyter_ext_runner_heartbeats_failed",
            "Heartbeats the job server did not answer, or answered with an error",
            registry=registry,
        )
        self.leases = Counter(
            "jupyter_ext_runner_leases_received",
            "Jobs the job server leased to this runner",
            registry=registry,
        )

    def watch(self, running: Sized) -> None:
        self.running.set_function(lambda: len(running))

    def job_finished(self, state: str) -> None:
        self.finished.labels(str(state)).inc()

    def shipped(self, lines: list[str]) -> None:
        self.lines.inc(len(lines))
        self.bytes.inc(sum(len(line.encode()) for line in lines))

    def leased(self, count: int) -> None:
        self.leases.inc(count)


def serve(metrics: RunnerMetrics, port: int) -> tuple[int, Callable[[], None]]:
    """Serve `/metrics` on 127.0.0.1:`port` (0: any free port): the port, and what stops it."""
    server, thread = start_http_server(port, addr=LOOPBACK, registry=metrics.registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return server.server_port, stop
