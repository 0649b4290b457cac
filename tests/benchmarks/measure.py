"""What the benchmark scripts share: a server in a child process, and percentiles.

The server runs in a child process (spawned, not forked) so the measuring client
never shares a GIL with it; the child sends its port through a pipe once it
listens, and is stopped with SIGTERM (uvicorn shuts down gracefully), then SIGKILL.
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx


def serve_app(app: Any, conn: Any) -> None:
    """In the child: serve `app` under uvicorn on a free port of 127.0.0.1, sending the port.

    IPPROTO_TCP, not 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets
    that say they are TCP, as uvicorn's own do; without it each response waits ~40 ms."""
    import socket

    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    conn.send(sock.getsockname()[1])
    conn.close()
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=3)
    uvicorn.Server(config).run(sockets=[sock])


@contextlib.contextmanager
def child_server(
    target: Callable[..., None], args: tuple[Any, ...], ready_path: str = "api/v1/openapi.json"
) -> Iterator[tuple[str, int]]:
    """Run `target(*args, send)` in a child; yield its root URL and pid once `ready_path`
    answers 200; always stop it. `target` sends its port on `send` when it listens."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    process = context.Process(target=target, args=(*args, send), daemon=True)
    process.start()
    try:
        deadline = time.monotonic() + 60
        while not receive.poll(0.1):
            if time.monotonic() > deadline or not process.is_alive():
                raise RuntimeError("the server process did not start")
        root = f"http://127.0.0.1:{receive.recv()}/"
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(root + ready_path, trust_env=False).status_code == 200:
                    break
            if time.monotonic() > deadline or not process.is_alive():
                raise RuntimeError("the server did not answer")
            time.sleep(0.05)
        yield root, process.pid
    finally:
        process.terminate()
        process.join(10)
        if process.is_alive():
            process.kill()
            process.join(5)


def median(times: list[float]) -> float:
    return statistics.median(times) if times else math.nan


def nearest_rank(times: list[float], q: float) -> float:
    """The q-th percentile (0 < q <= 1) by nearest rank; NaN when there is nothing."""
    if not times:
        return math.nan
    ordered = sorted(times)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]
