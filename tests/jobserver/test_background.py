"""A background loop cancelled while its thread works waits for that work to end, so the
session it holds is closed before the app's engine is disposed."""

from __future__ import annotations

import asyncio
import threading

from jupyter_ext.jobserver.background import in_thread, stop_all


def test_a_cancelled_loop_lets_its_threads_work_finish_first():
    started, release, finished = threading.Event(), threading.Event(), []

    def work() -> str:
        started.set()
        release.wait(10)
        finished.append(True)
        return "done"

    async def loop() -> None:
        while True:
            await in_thread(work)

    async def main() -> list:
        task = asyncio.create_task(loop())
        await asyncio.to_thread(started.wait, 10)
        stopping = asyncio.create_task(stop_all([task]))
        await asyncio.sleep(0.05)
        seen = [stopping.done(), list(finished)]  # still waiting for the thread
        release.set()
        await stopping
        return [*seen, list(finished), task.cancelled()]

    assert asyncio.run(main()) == [False, [], [True], True]
