"""Ship a job's log lines to the job server as they come: batched within 100 ms, numbered.

Every line is written to the job's log file on the site; the first `cap` lines
also leave it (as the backend's log policy allows, which the server enforces).
Sequence numbers make a resent batch harmless and a lost one visible.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from .. import schema
from .api import JobServerAPI, JobServerError

FLUSH_EVERY = 0.1
BATCH_LINES = 1000


class LogShipper:
    def __init__(self, api: JobServerAPI, identifier: str, log_file: Path, cap: int) -> None:
        self.api, self.identifier, self.cap = api, identifier, cap
        log_file.parent.mkdir(parents=True, exist_ok=True)
        self.file = log_file.open("a", encoding="utf-8")
        self.pending: list[str] = []
        self.sent = 0  # lines the server has
        self.seen = 0
        self.capped = False
        self.wake = asyncio.Event()
        self.task = asyncio.create_task(self._ship())

    def add(self, line: str) -> None:
        self.file.write(line + "\n")
        self.seen += 1
        if self.sent + len(self.pending) < self.cap:
            self.pending.append(line)
            self.wake.set()
        elif not self.capped:  # say once that the rest stays here
            self.capped = True
            self.pending.append(
                f"[log capped at {self.cap} lines: the rest is kept on the backend]"
            )
            self.wake.set()

    async def _ship(self) -> None:
        while True:
            await self.wake.wait()
            await asyncio.sleep(FLUSH_EVERY)  # gather what comes within 100 ms
            self.wake.clear()
            await self.flush()

    async def flush(self) -> None:
        while self.pending:
            lines = self.pending[:BATCH_LINES]
            truncated = self.seen > self.cap
            try:
                await self.api.logs(
                    self.identifier,
                    schema.LogBatch(first_seq=self.sent, lines=lines, truncated=truncated),
                )
            except JobServerError as exc:
                if exc.status != 409:
                    raise
            self.sent += len(lines)
            del self.pending[: len(lines)]

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.flush()
        self.file.close()
