"""Blocking calls a stopping runner can walk away from.

`asyncio.to_thread` runs a call in the loop's thread pool, and a process does not end
until every call there has returned: a runner told to stop would wait for a container's
`wait()` or log stream, that is for the job's end, while a new runner starts on the same
site. Here such a call runs in a daemon thread of its own: cancelling the await lets go
at once (the job runs on, for the next runner to follow), and the process can end.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any


async def in_thread(call: Callable[..., Any], *args: Any) -> Any:
    """`call(*args)` in a daemon thread; its result (or exception) when it returns."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()

    def settle(error: BaseException | None, result: Any) -> None:
        if future.done():  # the await was cancelled: nobody wants it
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def run() -> None:
        error, result = None, None
        try:
            result = call(*args)
        except BaseException as exc:  # handed to the awaiting task
            error = exc
        hand_to_loop(loop, settle, error, result)

    name = f"in_thread:{getattr(call, '__name__', call)}"
    threading.Thread(target=run, name=name, daemon=True).start()
    return await future


def hand_to_loop(loop: asyncio.AbstractEventLoop, callback: Callable[..., Any], *args) -> bool:
    """Call `callback(*args)` on the loop from a thread; False once the loop is closed."""
    try:
        loop.call_soon_threadsafe(callback, *args)
    except RuntimeError:
        return False
    return True
