"""What attacks cost the site: figures printed, never asserted (machines are noisy).

    .venv/bin/python tests/benchmarks/bench_security.py [--only NAME]

Each measurement is one function in MEASUREMENTS; add yours there.

- `request_bodies`: the job server's memory under bodies it must refuse. The real app
  (default limits) serves on 127.0.0.1 in a child process; 200 MB chunked bodies (no
  Content-Length) are sent without a token, several times, to a JSON route, a runner's
  report route and an upload route; the server's resident memory (VmRSS) is read from
  /proc before and after, with its peak (VmHWM). Flat means the bodies were never held.
- `outputs_report`: a runner's report of 10,000 outputs (the most one job may have) to the
  real job server (SQLite file, under uvicorn, in this process), sent twice (stored, then
  stored again as a runner that restarted would): how long the POST took, how long SQLite's
  write lock was held (from the first write of the request to its commit), and what another
  caller reading the job server meanwhile saw (answers, 5xx, slowest).
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

from measure import child_server, serve_app  # noqa: E402

MB = 1_000_000
MIB = 1 << 20


def say(message: str) -> None:
    print(message, flush=True)


# -- request bodies over the limit -------------------------------------------------------------


def _serve_jobserver(url: str, repo_root: str, key: str, conn: Any) -> None:
    """Child process: the real job server app with its default limits."""
    from jupyter_ext.jobserver.api import make_app
    from jupyter_ext.jobserver.app import JobServerApp
    from jupyter_ext.jobserver.db import make_engine, make_sessionmaker
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


def memory_kib(pid: int) -> dict[str, int]:
    """VmRSS (now) and VmHWM (peak) of a process, in KiB, from /proc."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0])
    return found


def send_chunked(root: str, head: str, total: int) -> tuple[str, int]:
    """Send `total` bytes as a chunked body (no length) until done or hung up; the status
    line of the answer (or how the connection ended) and the bytes the client sent."""
    host, port = root.removeprefix("http://").rstrip("/").split(":")
    chunk_size = 64 * 1024
    chunk = b"%x\r\n%s\r\n" % (chunk_size, b"x" * chunk_size)
    sent = 0
    with socket.create_connection((host, int(port)), timeout=60) as sock:
        sock.sendall(
            f"{head} HTTP/1.1\r\nHost: bench\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        try:
            while sent < total:
                sock.sendall(chunk)
                sent += chunk_size
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server hung up: read what it said
        try:
            answer = sock.recv(4096).split(b"\r\n", 1)[0].decode() or "hung up"
        except OSError as exc:
            answer = f"hung up ({exc.__class__.__name__})"
    return answer, sent


def measure_request_bodies(workdir: Path, rounds: int = 3, total: int = 200 * MB) -> None:
    from cryptography.fernet import Fernet

    from jupyter_ext.jobserver.db import upgrade_db

    url = f"sqlite:///{workdir / 'bodies.sqlite'}"
    upgrade_db(url)
    routes = {
        "JSON (POST /job-requests)": "POST /api/v1/job-requests",
        "runner report (POST logs)": "POST /api/v1/runner/jobs/nosuchjob/logs",
        "upload (PUT release file)": f"PUT /api/v1/runner/release-files/{'0' * 26}",
    }
    key = Fernet.generate_key().decode()
    with child_server(_serve_jobserver, (url, str(workdir), key)) as (root, pid):
        with contextlib.suppress(OSError):
            send_chunked(root, "POST /api/v1/job-requests", 2 * MIB)  # warm the paths once
        before = memory_kib(pid)
        say(
            f"request bodies: {rounds} x {total // MB} MB chunked, no token, per route; "
            f"server pid {pid}, VmRSS before {before['VmRSS'] / 1024:.1f} MiB"
        )
        for name, head in routes.items():
            for _ in range(rounds):
                start = time.perf_counter()
                answer, sent = send_chunked(root, head, total)
                took = time.perf_counter() - start
                now = memory_kib(pid)
                say(
                    f"  {name:28} {answer[:40]:40} client sent {sent / MB:6.1f} MB in "
                    f"{took:5.2f} s; VmRSS {now['VmRSS'] / 1024:6.1f} MiB"
                )
        after = memory_kib(pid)
    growth = (after["VmRSS"] - before["VmRSS"]) / 1024
    say(
        f"  VmRSS after {after['VmRSS'] / 1024:.1f} MiB (grew {growth:+.1f} MiB), "
        f"peak (VmHWM) {after['VmHWM'] / 1024:.1f} MiB, for "
        f"{rounds * len(routes) * total / MB:.0f} MB offered"
    )


# -- an outputs report at the limit ----------------------------------------------------------


def measure_outputs_report(workdir: Path, count: int = 10_000) -> None:
    import threading

    import sqlalchemy as sa

    from tests.jobserver.conftest import build_world
    from tests.jobserver.harness import JobServer, leased_job

    world = build_world(JobServer(f"sqlite:///{workdir / 'js.sqlite'}", workdir), workdir)
    held: list[float] = []  # per transaction that wrote: its first write to its commit

    @sa.event.listens_for(world.engine, "before_cursor_execute")
    def _write(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE")):
            conn.info.setdefault("first_write", time.perf_counter())

    @sa.event.listens_for(world.engine, "commit")
    def _commit(conn) -> None:
        if (began := conn.info.pop("first_write", None)) is not None:
            held.append(time.perf_counter() - began)

    try:
        identifier = leased_job(world)
        runner = world.client(token=world.runner_token)
        level = "moderately_sensitive"
        outputs = [
            {"path": f"out/{i:06}.txt", "size": 6, "sha256": f"{i:064x}", "privacy_level": level}
            for i in range(count)
        ]
        say(f"outputs report: {count:,} outputs, SQLite file, job server under uvicorn")
        for attempt in ("first report", "same report again"):
            seen: list[tuple[int, float]] = []
            finished = threading.Event()

            def read(seen=seen, finished=finished) -> None:
                client = world.http(world.base_url, "coord")
                while not finished.is_set():
                    start = time.perf_counter()
                    status = client.get("me").status_code
                    seen.append((status, time.perf_counter() - start))

            reader = threading.Thread(target=read, daemon=True)
            reader.start()
            time.sleep(0.2)
            held.clear()
            start = time.perf_counter()
            answer = runner.post(f"runner/jobs/{identifier}/outputs", json={"outputs": outputs})
            took = time.perf_counter() - start
            time.sleep(0.2)
            finished.set()
            reader.join(30)
            failed = sum(1 for status, _ in seen if status >= 500)
            slowest = max((t for _, t in seen), default=0.0)
            lock = max(held, default=0.0)
            say(
                f"  {attempt:18} {answer.status_code}; POST {took:5.2f} s, write lock held "
                f"{lock * 1000:6.1f} ms; another caller: {len(seen)} answers, {failed} 5xx, "
                f"slowest {slowest * 1000:.0f} ms"
            )
    finally:
        world.close()


MEASUREMENTS: dict[str, Callable[[Path], None]] = {
    "request_bodies": measure_request_bodies,
    "outputs_report": measure_outputs_report,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", choices=sorted(MEASUREMENTS), help="one measurement")
    args = parser.parse_args()
    chosen = [args.only] if args.only else list(MEASUREMENTS)
    with tempfile.TemporaryDirectory(prefix="bench-security-") as tmp:
        for name in chosen:
            folder = Path(tmp) / name
            folder.mkdir()
            MEASUREMENTS[name](folder)


if __name__ == "__main__":
    main()
