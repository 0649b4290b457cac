"""The job server under a busy site's data: the event log, new job requests, live events.

    .venv/bin/python tests/benchmarks/bench_jobserver.py [--pg] [--jobs N]

For SQLite (and, with --pg, a throwaway PostgreSQL cluster as well) it fills a
migrated database with bulk inserts (200 workspaces in 20 projects of 2
organisations, 2 backends, 20 users, N jobs in N/5 job requests; 100,000 by
default), serves the real app under uvicorn on 127.0.0.1 in a child process
(so the measuring client does not share a GIL with the server), and prints
p50/p95 in ms of:

- the event log `GET /jobs?limit=50`: unfiltered, with each filter, and the
  20th page by its `next` link; as a member of 4 projects and as a
  core_developer, who sees every project;
- `POST /job-requests` on a real git repository of the sample project (each new
  request is cancelled, untimed, so the next one has something to do);
- live events: 100 SSE subscribers of `GET /events`, and the time from just
  before a runner's POST (a log batch, or a status change) to each subscriber
  reading the event. All subscribers run in this one process, so the later ones
  in a burst also wait for this client to read the earlier ones.

Targets: event log p95 under 30 ms; event delivery p50 under 20 ms. Figures are
printed, never asserted: machines are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from jobserver_data import MEMBER_PROJECTS, PIPELINES, PROJECTS, Filled, fill  # noqa: E402
from measure import child_server, median, nearest_rank, serve_app  # noqa: E402

from jupyter_ext.jobserver.db import make_engine, upgrade_db  # noqa: E402

LIMIT = 50
DEEP_PAGE = 20
SUBSCRIBERS = 100
CHANGES = 50  # runner POSTs of each kind: log batches, then status changes
EVENT_LOG_TARGET_P95 = 30.0
DELIVERY_TARGET_P50 = 20.0


# -- the server, in a child process ----------------------------------------------------------


def _serve(url: str, repo_root: str, key: str, conn: Any) -> None:
    """Child process: the real app on the filled database, on a free port of 127.0.0.1."""
    from jupyter_ext.jobserver.api import make_app
    from jupyter_ext.jobserver.app import JobServerApp
    from jupyter_ext.jobserver.db import make_sessionmaker
    from jupyter_ext.jobserver.repos import LocalGit, Repositories
    from jupyter_ext.jobserver.security import Vault

    engine = make_engine(url)
    app = make_app(
        JobServerApp(),
        make_sessionmaker(engine),
        Vault([key]),
        Repositories(LocalGit([repo_root])),
    )
    try:
        serve_app(app, conn)
    finally:
        engine.dispose()


@contextlib.contextmanager
def serving(url: str, repo_root: Path) -> Iterator[str]:
    """Start the server process, yield its API base URL, and always stop it."""
    key = Fernet.generate_key().decode()
    with child_server(_serve, (url, str(repo_root), key)) as (root, _pid):
        yield root + "api/v1/"


# -- measuring -------------------------------------------------------------------------------


@dataclass
class Stat:
    times: list[float]  # ms
    note: str = ""
    missing: int = 0

    @property
    def p50(self) -> float:
        return median(self.times)

    @property
    def p95(self) -> float:
        return nearest_rank(self.times, 0.95)


@dataclass
class Result:
    database: str
    fill_seconds: float
    filled: Filled
    rows: dict[str, Stat] = field(default_factory=dict)


def timed(
    call: Callable[[], httpx.Response],
    samples: int,
    budget: float,
    after: Callable[[httpx.Response], None] | None = None,
    warmup: int = 3,
) -> tuple[list[float], httpx.Response]:
    """Times of `call` in ms: `samples` of them, or fewer (never under 30) if `budget` runs out."""
    for _ in range(warmup):
        response = call()
        if after:
            after(response)
    times: list[float] = []
    began = time.perf_counter()
    while len(times) < samples and (len(times) < 30 or time.perf_counter() - began < budget):
        start = time.perf_counter()
        response = call()
        times.append((time.perf_counter() - start) * 1000)
        if after:
            after(response)
    return times, response


def client(base: str, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30, trust_env=False
    )


def _ok(response: httpx.Response, *expected: int) -> httpx.Response:
    if response.status_code not in (expected or (200,)):
        raise RuntimeError(
            f"{response.request.method} {response.request.url} answered "
            f"{response.status_code}: {response.text[:500]}"
        )
    return response


def event_log_rows(filled: Filled) -> list[tuple[str, dict[str, str]]]:
    member_project = filled.member_projects[1]
    return [
        ("first page, unfiltered", {}),
        ("q=model (part of action names)", {"q": "model"}),
        ("job_request=<one request>", {"job_request": filled.member_job_request}),
        ("backend=tpp", {"backend": "tpp"}),
        ("status=failed", {"status": "failed"}),
        ("user=dev", {"user": "dev"}),
        ("workspace=<a busy one>", {"workspace": filled.workspaces[member_project][0]}),
    ]


def measure_event_log(
    base: str, filled: Filled, result: Result, samples: int, budget: float
) -> None:
    for who, username in (("member", "dev"), ("core_developer", "admin")):
        with client(base, filled.tokens[username]) as http:
            for label, params in event_log_rows(filled):
                query = {"limit": str(LIMIT), **params}
                times, last = timed(
                    lambda q=query: _ok(http.get("jobs", params=q)), samples, budget
                )
                items = len(last.json()["items"])
                result.rows[f"{who}:{label}"] = Stat(times, f"{items} rows")
            url = None
            response = _ok(http.get("jobs", params={"limit": str(LIMIT)}))
            for _ in range(DEEP_PAGE - 1):
                url = response.json()["next"]
                response = _ok(http.get(url))
            times, last = timed(lambda u=url: _ok(http.get(u)), samples, budget)
            result.rows[f"{who}:page {DEEP_PAGE} by next links"] = Stat(
                times, f"{len(last.json()['items'])} rows"
            )


def measure_job_requests(
    base: str, filled: Filled, result: Result, samples: int, budget: float
) -> None:
    workspaces = filled.workspaces[filled.member_projects[0]]
    actions = [action for action, _ in PIPELINES[0]]
    counter = itertools.count()
    jobs_planned: list[int] = []
    with client(base, filled.tokens["dev"]) as dev:

        def create() -> httpx.Response:
            i = next(counter)
            body = {
                "workspace": workspaces[i % len(workspaces)],
                "backend": "tpp",
                "actions": [actions[i % len(actions)]],
                "force_run_dependencies": True,
            }
            return _ok(dev.post("job-requests", json=body), 201)

        def cancel(response: httpx.Response) -> None:
            created = response.json()
            jobs_planned.append(len(created["jobs"]))
            _ok(dev.post(f"job-requests/{created['id']}/cancel"))

        times, _ = timed(create, samples, budget * 2, after=cancel)
    result.rows["job requests:create"] = Stat(
        times, f"{statistics.mean(jobs_planned):.1f} jobs each"
    )


def _event_key(message: bytes) -> tuple[str, int] | None:
    kind = data = None
    for line in message.split(b"\n"):
        if line.startswith(b"event: "):
            kind = line[7:].decode()
        elif line.startswith(b"data: "):
            data = line[6:]
    if kind == "log" and data:
        return "log", json.loads(data)["lines"][0][0]
    if kind == "job" and data:
        status = json.loads(data)["status_message"]
        if status.startswith("bench status "):
            return "job", int(status.rsplit(" ", 1)[1])
    return None


async def live_events(base: str, filled: Filled) -> dict[str, Stat]:
    dev = {"Authorization": f"Bearer {filled.tokens['dev']}"}
    runner = {"Authorization": f"Bearer {filled.runner_tokens['tpp']}"}
    watchers = [filled.tokens["admin"], filled.tokens["dev"]] * (SUBSCRIBERS // 2)
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
    timeout = httpx.Timeout(30, read=None)
    async with httpx.AsyncClient(
        base_url=base, limits=limits, timeout=timeout, trust_env=False
    ) as http:
        # a running job, leased to the backend's runner, to report on
        workspace = filled.workspaces[filled.member_projects[0]][0]
        body = {"workspace": workspace, "backend": "tpp", "actions": ["generate_dataset"]}
        created = _ok(await http.post("job-requests", json=body, headers=dev), 201).json()
        identifier = created["jobs"][0]["identifier"]
        poll = {"capacity": 1, "wait": 0}
        leases = _ok(await http.post("runner/poll", json=poll, headers=runner)).json()
        if [lease["identifier"] for lease in leases] != [identifier]:
            raise RuntimeError(f"the runner was not given the job {identifier}: {leases}")

        arrivals: dict[tuple[str, int], list[float]] = defaultdict(list)
        complete: dict[tuple[str, int], asyncio.Event] = {}
        connected = 0
        all_connected = asyncio.Event()

        async def subscriber(token: str) -> None:
            nonlocal connected
            headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
            async with http.stream("GET", "events", headers=headers) as response:
                _ok(response)
                connected += 1
                if connected == len(watchers):
                    all_connected.set()
                buffer = b""
                async for chunk in response.aiter_bytes():
                    now = time.perf_counter()
                    buffer = (buffer + chunk).replace(b"\r\n", b"\n")
                    *messages, buffer = buffer.split(b"\n\n")
                    for message in messages:
                        key = _event_key(message)
                        if key is None:
                            continue
                        arrivals[key].append(now)
                        if len(arrivals[key]) == len(watchers) and key in complete:
                            complete[key].set()

        tasks = [asyncio.create_task(subscriber(token)) for token in watchers]
        sent: dict[tuple[str, int], float] = {}
        try:
            await asyncio.wait_for(all_connected.wait(), 60)

            async def change(key: tuple[str, int], url: str, body: dict) -> None:
                complete[key] = asyncio.Event()
                sent[key] = time.perf_counter()
                _ok(await http.post(url, json=body, headers=runner), 200, 204)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(complete[key].wait(), 5)

            for i in range(CHANGES):
                body = {"first_seq": i, "lines": [f"bench line {i}: rows processed {i * 1000}"]}
                await change(("log", i), f"runner/jobs/{identifier}/logs", body)
            for i in range(CHANGES):  # re-queued and taken again, over and over
                state = "pending" if i % 2 == 0 else "running"
                body = {"state": state, "status_message": f"bench status {i}"}
                await change(("job", i), f"runner/jobs/{identifier}/status", body)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        done = {"state": "succeeded", "exit_code": 0}
        _ok(await http.post(f"runner/jobs/{identifier}/status", json=done, headers=runner))

    stats: dict[str, Stat] = {}
    for kind in ("log", "job"):
        delays = [(at - sent[key]) * 1000 for key in sent if key[0] == kind for at in arrivals[key]]
        expected = CHANGES * len(watchers)
        stats[kind] = Stat(delays, f"{len(delays)} deliveries", missing=expected - len(delays))
    every = stats["log"].times + stats["job"].times
    stats["all"] = Stat(
        every, f"{len(every)} deliveries", stats["log"].missing + stats["job"].missing
    )
    return stats


# -- one database ----------------------------------------------------------------------------


def run_database(
    name: str, url: str, workdir: Path, repo: Path, args: argparse.Namespace
) -> Result:
    say(f"{name}: migrating and filling ...")
    upgrade_db(url)
    engine = make_engine(url)
    try:
        start = time.perf_counter()
        filled = fill(engine, str(repo), jobs=args.jobs)
        seconds = time.perf_counter() - start
        if engine.dialect.name == "postgresql":
            # what autovacuum would do soon after a load like this; SQLite gets no ANALYZE,
            # since the job server never runs one
            with engine.connect() as connection:
                connection.execution_options(isolation_level="AUTOCOMMIT").execute(
                    sa.text("ANALYZE")
                )
    finally:
        engine.dispose()
    say(f"{name}: filled in {seconds:.1f} s; measuring ...")
    result = Result(name, seconds, filled)
    with serving(url, workdir) as base:
        measure_event_log(base, filled, result, args.samples, args.budget)
        say(f"{name}: live events ...")
        for kind, stat in asyncio.run(live_events(base, filled)).items():
            result.rows[f"events:{kind}"] = stat
        say(f"{name}: job requests ...")
        measure_job_requests(base, filled, result, args.samples, args.budget)
    return result


# -- report ----------------------------------------------------------------------------------


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def report(results: list[Result], args: argparse.Namespace) -> None:
    first = results[0].filled
    workspaces = sum(len(names) for names in first.workspaces.values())
    print(
        f"job server: {workspaces} workspaces in {PROJECTS} projects of 2 organisations, "
        f"2 backends, {len(first.tokens)} users, {first.job_requests:,} job requests, "
        f"{first.jobs:,} jobs"
    )
    print(
        "fill (bulk inserts): " + ", ".join(f"{r.database} {r.fill_seconds:.1f} s" for r in results)
    )
    print(
        f"each row: up to {args.samples} requests, fewer (at least 30) when a row "
        f"passes {args.budget:g} s; times in ms"
    )
    print()
    width = 44
    print(f"{'':<{width}}" + "".join(f"{r.database:>26}" for r in results))
    print(f"{'':<{width}}" + f"{'p50':>9}{'p95':>9}{'n':>8}" * len(results))

    def line(label: str, key: str) -> None:
        cells = ""
        notes = []
        for r in results:
            stat = r.rows.get(key)
            if stat is None:
                cells += f"{'-':>9}{'-':>9}{'-':>8}"
                continue
            cells += f"{stat.p50:>9.1f}{stat.p95:>9.1f}{len(stat.times):>8}"
            note = stat.note + (f", {stat.missing} missing" if stat.missing else "")
            if note and note not in notes:
                notes.append(note)
        print(f"{label:<{width}}{cells}   {' / '.join(notes)}")

    labels = [label for label, _ in event_log_rows(first)] + [f"page {DEEP_PAGE} by next links"]
    for who, title in (
        ("member", f"a member of {MEMBER_PROJECTS} of {PROJECTS} projects"),
        ("core_developer", "a core_developer (every project)"),
    ):
        print(f"GET /jobs?limit={LIMIT} (event log) as {title}")
        for label in labels:
            line(f"  {label}", f"{who}:{label}")
    print(f"live events: {SUBSCRIBERS} SSE subscribers (half member, half core_developer)")
    line(f"  {CHANGES} log batches -> `log` events", "events:log")
    line(f"  {CHANGES} status changes -> `job` events", "events:job")
    line("  every delivery", "events:all")
    print("POST /job-requests (force_run_dependencies, then cancelled untimed)")
    line("  one action and what it needs", "job requests:create")
    print()
    for r in results:
        log_rows = {k: s for k, s in r.rows.items() if k.startswith(("member:", "core_developer:"))}
        worst_key = max(log_rows, key=lambda k: log_rows[k].p95)
        worst = log_rows[worst_key].p95
        over = sum(1 for s in log_rows.values() if s.p95 >= EVENT_LOG_TARGET_P95)
        delivery = r.rows["events:all"].p50
        print(
            f"{r.database}: event log worst p95 {worst:.1f} ms ({worst_key.replace(':', ', ')}), "
            f"{over} of {len(log_rows)} rows at or over {EVENT_LOG_TARGET_P95:g} ms; "
            f"event delivery p50 {delivery:.1f} ms"
        )
    print(
        f"target: event log p95 under {EVENT_LOG_TARGET_P95:g} ms; "
        f"event delivery p50 under {DELIVERY_TARGET_P50:g} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", action="store_true", help="also measure on PostgreSQL")
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs to fill (5 a request)")
    parser.add_argument("--samples", type=int, default=200, help="requests per row, at most")
    parser.add_argument("--budget", type=float, default=2.0, help="seconds per row, about")
    args = parser.parse_args()

    from tests.jobserver.harness import make_repo

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-jobserver-") as tmp:
        workdir = Path(tmp)
        repo = workdir / "repos" / "sample"
        repo.parent.mkdir()
        make_repo(repo)
        sqlite_url = f"sqlite:///{workdir / 'jobserver.sqlite'}"
        results.append(run_database("SQLite", sqlite_url, workdir / "repos", repo, args))
        if args.pg:
            from tests.parts import PartMissing
            from tests.parts.postgres import PostgresCluster

            cluster = PostgresCluster()
            try:
                say("PostgreSQL: starting a throwaway cluster ...")
                cluster.start()
                url = cluster.create_database("jobserver_bench")
                results.append(run_database("PostgreSQL", url, workdir / "repos", repo, args))
            except PartMissing as exc:
                say(f"PostgreSQL skipped: {exc}")
            finally:
                cluster.stop()
    report(results, args)


if __name__ == "__main__":
    main()
