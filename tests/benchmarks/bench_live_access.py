"""What following access costs a live stream: events delivered per second, unchanged access
against access changing all the time.

    .venv/bin/python tests/benchmarks/bench_live_access.py [--events N]

A real job server (SQLite) under uvicorn on 127.0.0.1, one SSE subscriber (a project
developer) and N log events committed one by one: first with no change of access (each
event costs the stream a comparison of two integers), then with an unrelated change of
access (another user's global roles) committed before every tenth event, which makes the
stream re-read its caller's projects. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from sqlalchemy import select

from jupyter_ext.jobserver import orm
from jupyter_ext.jobserver.events import emit
from tests.jobserver.conftest import build_world
from tests.jobserver.harness import JobServer


def run(js: JobServer, count: int, change_every: int | None) -> float:
    """Seconds from the first commit until the subscriber has read all `count` events."""
    with js.factory() as session:
        workspace = session.scalar(select(orm.Workspace).where(orm.Workspace.name == "sample"))
    received = threading.Event()
    ready = threading.Event()

    def listen() -> None:
        seen = 0
        client = js.client("dev")
        with client.stream("GET", "events", params={"kind": "log"}, timeout=120) as response:
            ready.set()
            for line in response.iter_lines():
                if line.startswith("event: log"):
                    seen += 1
                    if seen == count:
                        received.set()
                        return

    thread = threading.Thread(target=listen, daemon=True)
    thread.start()
    ready.wait(30)
    time.sleep(0.5)  # the subscription is in place once the headers are read
    start = time.perf_counter()
    with js.factory() as session:
        other = session.scalar(select(orm.User).where(orm.User.username == "outsider"))
        for n in range(count):
            if change_every and n % change_every == 0:
                other.roles = [] if other.roles else ["output_checker"]
            emit(session, "log", {"job": "bench", "lines": [[n, "x"]]}, workspace=workspace)
            session.commit()
    received.wait(300)
    took = time.perf_counter() - start
    thread.join(5)
    return took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    count = parser.parse_args().events
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        js = build_world(JobServer(f"sqlite:///{tmp / 'bench.sqlite'}", tmp), tmp)
        try:
            for label, every in (("access unchanged", None), ("access changed every 10", 10)):
                took = run(js, count, every)
                print(
                    f"{label:>24}: {count} events in {took:.2f} s, "
                    f"{count / took:,.0f} events/s, {took / count * 1e6:,.0f} µs each"
                )
        finally:
            js.close()


if __name__ == "__main__":
    main()
