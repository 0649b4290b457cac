"""Stopping what a command started, whatever stage it reached when it was told to stop.

`Interrupts` turns SIGINT, SIGTERM and SIGHUP into `Stopped` in the main thread,
so a start-up cut short unwinds like any error and its stop path runs; inside
`shielded()` a signal waits until the block ends, so a process is never started
without being recorded, nor a step that must be whole cut in two. `stop` ends
one process and everything it started: the processes under it are read from
/proc before the first signal (the hub starts its proxy, job server and
workspace servers in sessions of their own, so a signal to its group misses
them), and whatever outlives it is ended by PID. `adopt_orphans` keeps under
the command what a part that died leaves behind, for `leftovers` to find."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import NamedTuple

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


class Stopped(BaseException):
    """Ctrl-C, SIGTERM or SIGHUP: stop what was started, then exit quietly (not an error:
    like KeyboardInterrupt, no `except Exception` on the way swallows it)."""


class Interrupts:
    """While entered and armed, the signals that ask a command to stop raise `Stopped`;
    entered but not armed (before `arm`, after `disarm`), they are only noted."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._shielded = 0
        self._armed = False
        self._previous: dict[int, object] = {}

    def __enter__(self) -> Interrupts:
        for sig in SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        self._armed = False
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _handle(self, signum: int, frame) -> None:
        self.received = signum
        if self._armed and not self._shielded:
            raise Stopped(signal.Signals(signum).name)

    def arm(self) -> None:
        """From now on a signal raises `Stopped` (at once if one came already)."""
        self._armed = True
        if self.received is not None:
            raise Stopped(signal.Signals(self.received).name)

    def disarm(self) -> None:
        """From now on a signal is only noted: a second Ctrl-C does not cut the stop short."""
        self._armed = False

    @contextlib.contextmanager
    def shielded(self):
        """A block no signal interrupts (one that came meanwhile raises when it ends)."""
        self._shielded += 1
        try:
            yield
        finally:
            self._shielded -= 1
            if self._armed and not self._shielded and self.received is not None:
                raise Stopped(signal.Signals(self.received).name)


INTERRUPTS = Interrupts()  # signals are the process's: one set of handlers


class Proc(NamedTuple):
    """A process by PID and start time, so a PID used again later is not mistaken for it."""

    pid: int
    started: str


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command's name (state first), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _stat(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    return children


def family(pid: int) -> set[Proc]:
    """The process and all processes under it (empty where there is no /proc)."""
    children = _children()
    found, todo = set(), [pid]
    while todo:
        current = todo.pop()
        fields = _stat(current)
        if fields is not None:
            found.add(Proc(current, fields[19]))
            todo += children.get(current, [])
    return found


def alive(proc: Proc) -> bool:
    """Running (a zombie has ended: only its parent's wait is missing)."""
    fields = _stat(proc.pid)
    return fields is not None and fields[19] == proc.started and fields[0] != "Z"


def end(procs: set[Proc], grace: float = 5) -> None:
    """SIGTERM to those still running, SIGKILL to those left after `grace` seconds."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, grace)):
        for proc in procs:
            if alive(proc):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(proc.pid, sig)
        deadline = time.monotonic() + wait
        while (procs := {p for p in procs if alive(p)}) and time.monotonic() < deadline:
            time.sleep(0.05)


def stop(process: subprocess.Popen | None, grace: float, sig: int = signal.SIGTERM) -> None:
    """`sig` to the process; after `grace` seconds SIGKILL; then the same, by PID, for
    whatever it started that outlived it (a process that ends its children on `sig` has
    already done so)."""
    if process is None:
        return
    under = family(process.pid)
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                if os.getpgid(process.pid) == process.pid:  # it leads a group (a session)
                    os.killpg(process.pid, signal.SIGKILL)
            process.kill()
            process.wait()
    end({p for p in under if p.pid != process.pid})


def adopt_orphans() -> bool:
    """Processes under this one whose parent ends become this one's children, not init's
    (Linux's child subreaper), so `leftovers` finds them: a hub that exits on its own leaves
    its proxy and job server running. Whether the system allows it."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def leftovers() -> set[Proc]:
    """Whatever still runs under this process (with `adopt_orphans`, however it got there)."""
    return {p for p in family(os.getpid()) if p.pid != os.getpid() and alive(p)}


def reap_adopted(keep: set[int]) -> None:
    """Orphans adopted by this process leave a zombie when they end: wait for those (not
    for the children in `keep`, whose Popen waits)."""
    for pid in _children().get(os.getpid(), []):
        fields = _stat(pid)
        if pid not in keep and fields is not None and fields[0] == "Z":
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
