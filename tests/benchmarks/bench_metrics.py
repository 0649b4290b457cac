"""What the metrics cost the job server's requests: the same app with and without them.

    .venv/bin/python tests/benchmarks/bench_metrics.py [--rounds 40] [--block 25]

Two child processes serve the real app on one migrated SQLite database under uvicorn on
127.0.0.1 (as `bench_jobserver.py` does): one as the job server runs, with the requests'
middleware (`metrics.CountRequests`: a clock read, a route look-up and one histogram
observe per request), one with that middleware taken out before it starts. A cheap,
authenticated API list, `GET /api/v1/backends` (the token looked up, 5 backends read), is
asked of each in turn, `--block` requests at a time for `--rounds` rounds, so both see the
same machine; only one is ever asked at a time. Printed: p50 and p95 in ms of each, the
difference in % over all requests and the median of each round's (target: under 5 %; the
rounds' median is steadier on a shared machine), the middleware's own time per request
measured in-process around an app that answers at once (what lies beneath the servers'
noise), and what one scrape of `/metrics` takes.

Figures are printed, never asserted: machines are noisy.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

import httpx  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from measure import child_server, median, nearest_rank, serve_app  # noqa: E402

from jupyter_ext.jobserver.db import make_engine, make_sessionmaker, upgrade_db  # noqa: E402

TARGET = 5.0  # % of p50
BACKENDS = 5
METRICS_TOKEN = "bench-metrics-token"


def say(message: str) -> None:
    print(message, flush=True)


def seed(url: str) -> str:
    """A migrated database with backends and a core developer: their API token."""
    from jupyter_ext.jobserver import orm
    from jupyter_ext.jobserver.services.accounts import issue_api_token

    upgrade_db(url)
    engine = make_engine(url)
    try:
        with make_sessionmaker(engine)() as session:
            for i in range(BACKENDS):
                session.add(orm.Backend(slug=f"site{i}", name=f"Site {i}"))
            admin = orm.User(username="admin", roles=["core_developer"])
            session.add(admin)
            session.flush()
            token = issue_api_token(session, admin, "bench").token
            session.commit()
    finally:
        engine.dispose()
    return token


def _serve(url: str, key: str, metered: bool, conn: Any) -> None:
    """Child process: the real app, its requests' middleware taken out unless `metered`."""
    from jupyter_ext.jobserver.api import make_app
    from jupyter_ext.jobserver.app import JobServerApp
    from jupyter_ext.jobserver.metrics import CountRequests
    from jupyter_ext.jobserver.repos import LocalGit, Repositories
    from jupyter_ext.jobserver.security import Vault

    engine = make_engine(url)
    settings = JobServerApp(metrics_token=METRICS_TOKEN)
    app = make_app(settings, make_sessionmaker(engine), Vault([key]), Repositories(LocalGit([])))
    if not metered:  # the stack is built at the first request: not yet
        app.user_middleware = [m for m in app.user_middleware if m.cls is not CountRequests]
    try:
        serve_app(app, conn)
    finally:
        engine.dispose()


@contextlib.contextmanager
def serving(url: str, metered: bool) -> Iterator[str]:
    key = Fernet.generate_key().decode()
    with child_server(_serve, (url, key, metered)) as (root, _pid):
        yield root


def block(client: httpx.Client, path: str, count: int) -> list[float]:
    """`count` answers to GET `path`, each timed in ms."""
    import time

    times = []
    for _ in range(count):
        start = time.perf_counter()
        response = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"GET {path} answered {response.status_code}: {response.text}")
    return times


def measure(args: argparse.Namespace, url: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    times: dict[str, list[float]] = {"with metrics": [], "without": []}
    paired: list[float] = []  # each round's p50 with, against its p50 without, in %
    with serving(url, True) as on_root, serving(url, False) as off_root:
        clients = {
            "with metrics": httpx.Client(base_url=on_root, headers=headers, trust_env=False),
            "without": httpx.Client(base_url=off_root, headers=headers, trust_env=False),
        }
        try:
            for client in clients.values():
                block(client, "api/v1/backends", 50)  # warm up: connections, caches, imports
            for round_ in range(args.rounds):
                order = list(clients) if round_ % 2 == 0 else list(reversed(clients))
                got = {name: block(clients[name], "api/v1/backends", args.block) for name in order}
                for name, values in got.items():
                    times[name] += values
                off = median(got["without"])
                paired.append((median(got["with metrics"]) - off) / off * 100)
            scraper = httpx.Client(
                base_url=on_root,
                headers={"Authorization": f"Bearer {METRICS_TOKEN}"},
                trust_env=False,
            )
            with scraper:
                scrapes = block(scraper, "metrics", 50)
                counted = scraper.get("metrics").text
        finally:
            for client in clients.values():
                client.close()
    assert 'route="/api/v1/backends"' in counted, "the metered server did not count"
    report(times, paired, scrapes, middleware_cost())


def middleware_cost(calls: int = 20_000) -> tuple[float, float]:
    """The middleware's own time per request, in-process around an app that answers at once
    (µs, with and without it): what the servers' figures hold beneath their noise."""
    import asyncio
    import time
    from types import SimpleNamespace

    from jupyter_ext.jobserver.metrics import CountRequests, JobServerMetrics

    async def answer(scope, receive, send) -> None:
        scope["route"] = route
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"[]"})

    async def nothing(message) -> None:
        return None

    route = SimpleNamespace(path_format="/api/v1/backends")
    bus, notifier = SimpleNamespace(subscriptions=set()), SimpleNamespace()
    metrics = JobServerMetrics(None, bus, None, notifier)
    counted = CountRequests(answer, metrics)
    counted.templates = {}
    scope = {"type": "http", "method": "GET", "path": "/api/v1/backends"}

    async def run(app) -> float:
        start = time.perf_counter()
        for _ in range(calls):
            await app(dict(scope), None, nothing)
        return (time.perf_counter() - start) / calls * 1e6

    async def both() -> tuple[float, float]:
        bare, metered = [], []
        for _ in range(5):  # interleaved; the best of each
            bare.append(await run(answer))
            metered.append(await run(counted))
        return min(metered), min(bare)

    return asyncio.run(both())


def report(
    times: dict[str, list[float]],
    paired: list[float],
    scrapes: list[float],
    cost: tuple[float, float],
) -> None:
    say(f"GET /api/v1/backends, {len(times['without'])} requests each, interleaved")
    say(f"{'':<16}{'p50 ms':>10}{'p95 ms':>10}")
    for name, values in times.items():
        say(f"{name:<16}{median(values):>10.3f}{nearest_rank(values, 0.95):>10.3f}")
    on, off = times["with metrics"], times["without"]
    p50 = (median(on) - median(off)) / median(off) * 100
    p95 = (nearest_rank(on, 0.95) - nearest_rank(off, 0.95)) / nearest_rank(off, 0.95) * 100
    say(f"difference of all requests: p50 {p50:+.1f} %, p95 {p95:+.1f} %")
    verdict = "within" if median(paired) < TARGET else "over"
    say(
        f"round by round (each round's p50 with against without, {len(paired)} rounds): "
        f"median {median(paired):+.1f} % ({verdict} the {TARGET:g} % target), from "
        f"{min(paired):+.1f} to {max(paired):+.1f} %"
    )
    metered, bare = cost
    share = (metered - bare) / 1000 / median(off) * 100
    say(
        f"the middleware alone, in-process: {metered - bare:.1f} µs a request "
        f"({metered:.1f} against {bare:.1f}), {share:.2f} % of the p50 without it"
    )
    scrape50, scrape95 = median(scrapes), nearest_rank(scrapes, 0.95)
    say(f"one scrape of /metrics: p50 {scrape50:.2f} ms, p95 {scrape95:.2f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40, help="rounds of one block each")
    parser.add_argument("--block", type=int, default=25, help="requests per block")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-metrics-") as folder:
        url = f"sqlite:///{Path(folder) / 'jobserver.sqlite'}"
        token = seed(url)
        measure(args, url, token)


if __name__ == "__main__":
    main()
