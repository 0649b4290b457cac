"""The job server's web pages under a busy site's data: server time, p50 and p95.

    .venv/bin/python tests/benchmarks/bench_pages.py [--jobs N] [--samples N] [--budget S]

It fills a migrated SQLite database with the bulk data of `jobserver_data.fill`
(200 workspaces in 20 projects, 20 users, N jobs in N/5 job requests; 100,000 by
default), serves the real app under uvicorn on 127.0.0.1 in a child process (as
bench_jobserver.py does), and asks for each page as a member of 4 projects and as a
core_developer (who sees every project), with an API token in the header:

- the event log page `/event-log` (unfiltered, with each filter, and the 21st page of 50
  by its cursor), once the pages have it;
  until then the API's `GET /api/v1/jobs?limit=50`, which that page shows, said so in the
  table;
- the workspace page `/{org}/{project}/{workspace}` of the busiest workspace;
- the job request page `/job-requests/{id}`;
- and, for scale, the home, organisation and project pages.

Two times per request, in ms:
- server: the app's own time, from the request reaching the ASGI app to the response's
  headers (the handler, its queries and the whole template: a page is rendered before its
  headers go), sent back in a `Server-Timing: app;dur=...` header by a wrapper around the
  app in the server process;
- client: time to the last byte at the client on loopback (adds uvicorn, HTTP and httpx).

Target: server p95 under 100 ms for every page. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

import httpx  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from jobserver_data import MEMBER_PROJECTS, PROJECTS, Filled, fill  # noqa: E402
from measure import child_server, median, nearest_rank, serve_app  # noqa: E402

from jupyter_ext.jobserver.db import make_engine, upgrade_db  # noqa: E402

TARGET_P95 = 100.0
LIMIT = 50
DEEP_PAGE = 20


# -- the server, in a child process, telling its own time -------------------------------------


class ServerTiming:
    """ASGI wrapper: `Server-Timing: app;dur=<ms>` from the request's arrival to its headers."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        began = time.perf_counter()

        async def timed_send(message) -> None:
            if message["type"] == "http.response.start":
                took = (time.perf_counter() - began) * 1000
                headers = [
                    *message.get("headers", []),
                    (b"server-timing", f"app;dur={took:.3f}".encode()),
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed_send)


def _serve(url: str, repo_root: str, key: str, conn: Any) -> None:
    """Child process: the real app (API and pages) on the filled database, timed."""
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
        serve_app(ServerTiming(app), conn)
    finally:
        engine.dispose()


@contextlib.contextmanager
def serving(url: str, repo_root: Path) -> Iterator[str]:
    key = Fernet.generate_key().decode()
    with child_server(_serve, (url, str(repo_root), key)) as (root, _pid):
        yield root


# -- measuring ------------------------------------------------------------------------------


@dataclass
class Stat:
    server: list[float] = field(default_factory=list)  # ms
    client: list[float] = field(default_factory=list)  # ms
    note: str = ""


def server_time(response: httpx.Response) -> float:
    timing = response.headers["server-timing"]
    return float(timing.split("dur=", 1)[1])


def measure(
    http: httpx.Client, url: str, params: dict[str, str], samples: int, budget: float
) -> Stat:
    for _ in range(3):  # warm-up: templates compiled, caches filled, pages of the db read
        _ok(http.get(url, params=params))
    stat = Stat()
    began = time.perf_counter()
    while len(stat.server) < samples and (
        len(stat.server) < 30 or time.perf_counter() - began < budget
    ):
        start = time.perf_counter()
        response = _ok(http.get(url, params=params))
        stat.client.append((time.perf_counter() - start) * 1000)
        stat.server.append(server_time(response))
    stat.note = f"{len(response.content) // 1024} KiB"
    return stat


def _ok(response: httpx.Response) -> httpx.Response:
    if response.status_code != 200:
        raise RuntimeError(
            f"GET {response.request.url} answered {response.status_code}: {response.text[:500]}"
        )
    return response


def _has_event_log(http: httpx.Client) -> bool:
    response = http.get("event-log")
    return response.status_code == 200 and "text/html" in response.headers.get("content-type", "")


def deep_cursor(http: httpx.Client) -> str:
    """The cursor of the event log's 20th page of 50, as its `next` links lead there."""
    response = _ok(http.get("api/v1/jobs", params={"limit": str(LIMIT)}))
    for _ in range(DEEP_PAGE - 1):
        response = _ok(http.get(response.json()["next"]))
    return parse_qs(urlsplit(response.json()["next"]).query)["cursor"][0]


def rows_to_time(
    filled: Filled, event_log_page: bool, cursor: str
) -> list[tuple[str, str, dict[str, str]]]:
    """(label, path, query) of every row, for one person."""
    project = filled.member_projects[1]
    org = "uni-north"  # jobserver_data: the first half of the projects are uni-north's
    workspace = filled.workspaces[project][0]
    if event_log_page:
        log_rows = [
            ("event log page, unfiltered", "event-log", {}),
            ("event log page, status=failed", "event-log", {"status": "failed"}),
            ("event log page, backend=tpp", "event-log", {"backend": "tpp"}),
            ("event log page, workspace=<busy>", "event-log", {"workspace": workspace}),
            ("event log page, user=dev", "event-log", {"user": "dev"}),
            ("event log page, q=model", "event-log", {"q": "model"}),
            (
                "event log page, job_request=<one>",
                "event-log",
                {"job_request": filled.member_job_request},
            ),
            (f"event log page, page {DEEP_PAGE + 1} (cursor)", "event-log", {"cursor": cursor}),
        ]
    else:
        log_rows = [
            (f"API GET /jobs?limit={LIMIT} (no page yet)", "api/v1/jobs", {"limit": str(LIMIT)}),
            (
                "API GET /jobs, status=failed",
                "api/v1/jobs",
                {"limit": str(LIMIT), "status": "failed"},
            ),
            (
                f"API GET /jobs, page {DEEP_PAGE + 1} (cursor)",
                "api/v1/jobs",
                {"limit": str(LIMIT), "cursor": cursor},
            ),
        ]
    return [
        *log_rows,
        ("workspace page", f"{org}/{project}/{workspace}", {}),
        ("job request page", f"job-requests/{filled.member_job_request}", {}),
        ("home page", "", {}),
        ("organisation page", org, {}),
        ("project page", f"{org}/{project}", {}),
    ]


# -- report ---------------------------------------------------------------------------------


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def report(
    filled: Filled,
    fill_seconds: float,
    results: dict[str, dict[str, Stat]],
    args: argparse.Namespace,
    event_log_page: bool,
) -> None:
    workspaces = sum(len(names) for names in filled.workspaces.values())
    print(
        f"job server pages: {workspaces} workspaces in {PROJECTS} projects, {len(filled.tokens)} "
        f"users, {filled.job_requests:,} job requests, {filled.jobs:,} jobs (SQLite, filled "
        f"in {fill_seconds:.1f} s)"
    )
    print(
        f"each row: up to {args.samples} requests one after another, fewer (at least 30) when a "
        f"row passes {args.budget:g} s; times in ms"
    )
    print("server = the app's time to the response's headers (Server-Timing, the page rendered);")
    print("client = time to last byte at the client on loopback")
    if not event_log_page:
        print("no /event-log page yet: the event log is timed as the API's GET /api/v1/jobs")
    width = 42
    print()
    print(f"{'':<{width}}{'server':>18}{'client':>18}")
    print(f"{'':<{width}}" + f"{'p50':>9}{'p95':>9}" * 2 + f"{'n':>6}")
    worst = (0.0, "")
    for who, title in (
        ("member", f"a member of {MEMBER_PROJECTS} of {PROJECTS} projects"),
        ("core_developer", "a core_developer (every project)"),
    ):
        print(f"as {title}")
        for label, stat in results[who].items():
            s95 = nearest_rank(stat.server, 0.95)
            print(
                f"  {label:<{width - 2}}{median(stat.server):>9.1f}{s95:>9.1f}"
                f"{median(stat.client):>9.1f}{nearest_rank(stat.client, 0.95):>9.1f}"
                f"{len(stat.server):>6}   {stat.note}"
            )
            worst = max(worst, (s95, f"{label}, as {who}"))
    over = sum(
        1
        for rows in results.values()
        for s in rows.values()
        if nearest_rank(s.server, 0.95) >= TARGET_P95
    )
    total = sum(len(rows) for rows in results.values())
    print()
    print(
        f"worst server p95 {worst[0]:.1f} ms ({worst[1]}); {over} of {total} rows at or over "
        f"the target of {TARGET_P95:g} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs to fill (5 a request)")
    parser.add_argument("--samples", type=int, default=200, help="requests per row, at most")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds per row, about")
    args = parser.parse_args()

    from tests.jobserver.harness import make_repo

    with tempfile.TemporaryDirectory(prefix="bench-pages-") as tmp:
        workdir = Path(tmp)
        repo = workdir / "repos" / "sample"
        repo.parent.mkdir()
        make_repo(repo)
        url = f"sqlite:///{workdir / 'jobserver.sqlite'}"
        say("migrating and filling ...")
        upgrade_db(url)
        engine = make_engine(url)
        try:
            start = time.perf_counter()
            filled = fill(engine, str(repo), jobs=args.jobs)
            fill_seconds = time.perf_counter() - start
        finally:
            engine.dispose()
        say(f"filled in {fill_seconds:.1f} s; measuring ...")
        results: dict[str, dict[str, Stat]] = {}
        with serving(url, workdir / "repos") as root:
            for who, username in (("member", "dev"), ("core_developer", "admin")):
                headers = {"Authorization": f"Bearer {filled.tokens[username]}"}
                with httpx.Client(
                    base_url=root, headers=headers, timeout=60, trust_env=False
                ) as http:
                    event_log_page = _has_event_log(http)
                    results[who] = {}
                    cursor = deep_cursor(http)
                    for label, path, params in rows_to_time(filled, event_log_page, cursor):
                        results[who][label] = measure(http, path, params, args.samples, args.budget)
    report(filled, fill_seconds, results, args, event_log_page)


if __name__ == "__main__":
    main()
