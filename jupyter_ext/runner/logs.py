"""Ship a job's log lines to the job server as they come: batched within 100 ms, numbered.

Every line is first written to the job's log file on the site: that file is the
buffer (nothing is held in memory, however much a job prints while the job server is
away). Beside it a cursor (`<job>.sent`) says how many lines the job server has and
how far into the file they come from, moved after each accepted batch, so lines
printed while the job server is away, or while the runner itself was down, are sent
when both are back: none lost (the file holds them), none repeated (sequence numbers).

What leaves follows the log policy in force when it is sent (`policy.LogPolicy`): none
until the job server has said the backend's policy, none on a `status` backend, each
line redacted as the policy says; the first `cap` lines at most, then a note saying
the rest stays on the site.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from .. import schema
from .api import JobServerAPI, JobServerError
from .policy import LogPolicy

FLUSH_EVERY = 0.1
BATCH_LINES = 1000
BATCH_BYTES = 2 << 20  # well under the job server's limit on a runner's report
HEAR_POLICY_FOR = 30.0  # seconds a closing shipper waits for the job server to say its policy


def cap_note(cap: int) -> str:
    return f"[log capped at {cap} lines: the rest is kept on the backend]"


class LogShipper:
    def __init__(
        self,
        api: JobServerAPI,
        identifier: str,
        log_file: Path,
        cap: int,
        policy: LogPolicy | None = None,
        on_shipped: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.api, self.identifier, self.cap = api, identifier, cap
        self.on_shipped = on_shipped or (lambda lines: None)  # the runner's metrics count
        self.policy = policy or LogPolicy()
        log_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file = log_file
        self.cursor = log_file.with_suffix(".sent")
        self.sent, self.offset = self._read_cursor()
        self.seen = _count_lines(log_file)  # lines on the site (more than zero after a restart)
        self.file = log_file.open("ab")
        self.wake = asyncio.Event()
        self.wake.set()
        self.task = asyncio.create_task(self._ship())

    def _read_cursor(self) -> tuple[int, int]:
        """(lines the job server has, bytes of the file already handled). A cursor of an
        earlier version holds the first alone: the offset is found by counting lines."""
        try:
            fields = self.cursor.read_text().split()
        except OSError:
            return 0, 0
        sent = int(fields[0]) if fields else 0
        if len(fields) > 1:
            return sent, int(fields[1])
        return sent, _offset_of_line(self.log_file, sent)

    def add(self, line: str) -> None:
        self.file.write(line.encode("utf-8", errors="replace") + b"\n")
        self.seen += 1
        self.wake.set()

    async def _ship(self) -> None:
        while True:
            await self.wake.wait()
            await asyncio.sleep(FLUSH_EVERY)  # gather what comes within 100 ms
            if self.policy.known:
                self.wake.clear()  # else look again in 100 ms: the job server may say soon
                await self.flush()

    async def flush(self) -> None:
        self.file.flush()  # on disk before the cursor can pass it: a restart re-reads from here
        if not self.policy.known:
            return  # kept in the file until the job server says the backend's policy
        while True:
            lines, offset = await asyncio.to_thread(self._next_lines)
            if not lines and offset == self.offset:
                return
            batch = self._outgoing(lines)
            if batch:
                truncated = self.seen > self.cap
                body = schema.LogBatch(first_seq=self.sent, lines=batch, truncated=truncated)
                try:
                    await self.api.logs(self.identifier, body)
                    self.on_shipped(batch)
                except JobServerError as exc:
                    if exc.status != 409:
                        raise
            self.sent += len(batch)
            self.offset = offset
            self.cursor.write_text(f"{self.sent} {self.offset}")

    def _next_lines(self) -> tuple[list[str], int]:
        """The next lines of the file not yet handled (a batch at most), and where they end."""
        lines: list[str] = []
        size = 0
        offset = self.offset
        with self.log_file.open("rb") as f:
            if not self.policy.ships_lines or self.sent > self.cap:  # none will leave: skip
                return [], max(offset, f.seek(0, 2))
            f.seek(offset)
            for raw in f:
                if not raw.endswith(b"\n"):
                    break  # not all written yet
                lines.append(raw[:-1].decode("utf-8", errors="replace"))
                offset += len(raw)
                size += len(raw)
                if len(lines) >= BATCH_LINES or size >= BATCH_BYTES:
                    break
        return lines, offset

    def _outgoing(self, lines: list[str]) -> list[str]:
        """What of these lines leaves under the policy in force and the cap."""
        if not self.policy.ships_lines:
            return []
        room = self.cap - self.sent
        batch = [self.policy.redact(line) for line in lines[: max(0, room)]]
        if len(lines) > room >= 0:  # this batch reaches the cap: say once that the rest stays
            batch.append(cap_note(self.cap))
        return batch

    async def close(self) -> None:
        """Send what is left; unless the runner is stopping (this job's task cancelled): then
        the lines wait in the file for the next runner, which follows the job on."""
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            self.file.close()
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + HEAR_POLICY_FOR
        while not self.policy.known and loop.time() < deadline:
            await asyncio.sleep(FLUSH_EVERY)
        try:
            await self.flush()
        finally:
            self.file.close()


def _count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    count = 0
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            count += chunk.count(b"\n")
    return count


def _offset_of_line(path: Path, number: int) -> int:
    """The byte offset at which line `number` (from 0) of the file starts."""
    offset = 0
    if number <= 0 or not path.exists():
        return 0
    with path.open("rb") as f:
        for raw in f:
            offset += len(raw)
            number -= 1
            if number == 0:
                break
    return offset
