"""Blocking work of the job server's background loops (leases, notifications, schedules),
done in a worker thread so that the event loop stays free.

A thread cannot be cancelled: when the app stops, a loop cancelled while its thread holds a
database session would leave that connection open after the engine is disposed. So a cancel
here waits for the thread's work to end (its session closed) before it goes on, and the app
waits for its loops to end before the engine goes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from fastapi.concurrency import run_in_threadpool


async def in_thread(work: Callable[..., Any], *args: Any) -> Any:
    """`work(*args)` in a worker thread; cancelled, it first lets the thread finish."""
    done = asyncio.ensure_future(run_in_threadpool(work, *args))
    try:
        return await asyncio.shield(done)
    except asyncio.CancelledError:
        await asyncio.wait([done])
        raise


async def stop_all(tasks: list[asyncio.Task]) -> None:
    """Cancel the loops and wait until each has ended (its thread's work with it)."""
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
