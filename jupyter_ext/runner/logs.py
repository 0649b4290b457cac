"""Ship a job's log lines to the job server as they come: batched within 100 ms, numbered.

Every line is first written to the job's log file on the site: that file is
also the buffer. What the job server has is a cursor beside it, moved after
each accepted batch, so lines printed while the job server is away, or while
the runner itself was down, are sent when both are back: none lost (the file
holds them), none repeated (sequence numbers). The first `cap` lines may leave
the site, as the log policy allows; the rest stay, with a note saying so.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from .. import schema
from .api import JobServerAPI, JobServerError
from .policy import LogPolicy

FLUSH_EVERY = 0.1
BATCH_LINES = 1000


def cap_note(cap: int) -> str:
    return f"[log capped at {cap} lines: the rest is kept on the backend]"


class LogShipper:
    def __init__(
        self, api: JobServerAPI, identifier: str, log_file: Path, cap: int,
        policy: LogPolicy | None = None,
    ) -> None:  # fmt: skip
        self.api, self.identifier, self.cap = api, identifier, cap
        self.policy = policy or LogPolicy()
        log_file.parent.mkdir(parents=True, exist_ok=True)
        self.cursor = log_file.with_suffix(".sent")
        earlier = log_file.read_text(errors="replace").splitlines() if log_file.exists() else []
        self.seen = len(earlier)  # lines on the site (more than zero after a restart)
        self.sent = int(self.cursor.read_text()) if self.cursor.exists() else 0
        self.pending: list[str] = []
        self.capped = self.sent > cap  # the note went out before a restart
        for line in earlier[self.sent :]:
            self._queue(line)
        self.file = log_file.open("a", encoding="utf-8")
        self.wake = asyncio.Event()
        self.wake.set()
        self.task = asyncio.create_task(self._ship())

    def add(self, line: str) -> None:
        self.file.write(line + "\n")
        self.seen += 1
        self._queue(line)
        self.wake.set()

    def _queue(self, line: str) -> None:
        if not self.policy.ships_lines:
            return
        if self.sent + len(self.pending) < self.cap:
            self.pending.append(self.policy.redact(line))
        elif not self.capped:  # say once that the rest stays here
            self.capped = True
            self.pending.append(cap_note(self.cap))

    async def _ship(self) -> None:
        while True:
            await self.wake.wait()
            await asyncio.sleep(FLUSH_EVERY)  # gather what comes within 100 ms
            self.wake.clear()
            await self.flush()

    async def flush(self) -> None:
        self.file.flush()  # on disk before the cursor can pass it: a restart re-reads from here
        while self.pending:
            lines = self.pending[:BATCH_LINES]
            try:
                await self.api.logs(
                    self.identifier,
                    schema.LogBatch(first_seq=self.sent, lines=lines,
                                    truncated=self.seen > self.cap),
                )  # fmt: skip
            except JobServerError as exc:
                if exc.status != 409:
                    raise
            self.sent += len(lines)
            del self.pending[: len(lines)]
            self.cursor.write_text(str(self.sent))

    async def close(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.flush()
        self.file.close()
