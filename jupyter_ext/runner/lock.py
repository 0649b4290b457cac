"""One runner per site folder: an exclusive lock on `<workdir>/runner.lock`, held for the
process's life.

Two runners on one workdir would both follow the same containers and send the same
jobs' lines and ends. The lock is `flock` on a file opened close-on-exec (no job or git
process inherits it), so it goes when the process goes, however it ends (even SIGKILL):
no stale lock to clear by hand. The file names the holder's PID, for the refusal.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable
from pathlib import Path

LOCK_FILE = "runner.lock"


class WorkdirHeld(Exception):
    """Another live runner holds the site folder; the sentence names it and what to do."""


class WorkdirLock:
    def __init__(self, workdir: Path) -> None:
        self.workdir = Path(workdir)
        self.path = self.workdir / LOCK_FILE
        self.fd: int | None = None

    def acquire(self, wait: float = 0.0, waiting: Callable[[str], None] | None = None) -> None:
        """Take the lock, waiting up to `wait` seconds for a runner that is stopping."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
        deadline = time.monotonic() + wait
        told = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    holder = self.holder()
                    if time.monotonic() >= deadline:
                        raise WorkdirHeld(self._refusal(holder)) from None
                    if waiting is not None and not told:
                        waiting(
                            f"waiting up to {wait:g} s for the runner (PID {holder or '?'}) "
                            f"that holds {self.workdir} to stop"
                        )
                        told = True
                    time.sleep(0.1)
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self.fd = fd

    def holder(self) -> int | None:
        """The PID the lock file names (the live holder's, while the lock is held)."""
        try:
            return int(self.path.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def _refusal(self, holder: int | None) -> str:
        who = f"another runner (PID {holder})" if holder else "another runner"
        return (
            f"{who} is running on the site folder {self.workdir}: only one runner may use a "
            "site folder. Stop it first (SIGTERM; it lets go of its jobs and this runner takes "
            "them over when it starts), or give this runner another --workdir"
        )

    def release(self) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.close(self.fd)  # the lock goes with the last descriptor
            self.fd = None
