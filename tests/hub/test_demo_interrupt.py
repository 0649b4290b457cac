"""Ctrl-C at any moment of `jupyter ext demo` stops every process it started, quietly.

One demo folder goes through every stage: stopped right after starting, while it
seeds its accounts, while the hub starts, while it seeds the project (the hub and
the job server up), and once fully up with a workspace server running; then a
demo on the same folder comes up at once, and when its hub is killed the demo
ends what the hub left. Each time the processes under the demo are read from
/proc just before the signal, and every one must be gone once it has exited.
Run with `-s` to see the time from Ctrl-C to the last one gone.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from contextlib import closing
from pathlib import Path

from jupyter_ext.cli.hubstack import free_port

from ..runner.test_recovery import processes_running
from .test_demo import sign_in, start_demo


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def under(root: int) -> dict[int, str]:
    """The process and every process under it: PID -> start time (so a reused PID is not
    taken for it)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _stat(int(entry.name))
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = {}, [root]
    while todo:
        pid = todo.pop()
        if (fields := _stat(pid)) is not None:
            found[pid] = fields[19]
            todo += children.get(pid, [])
    return found


def running(procs: dict[int, str]) -> dict[int, str]:
    """Those still running (a zombie has ended): PID -> the start of its command line."""
    left = {}
    for pid, started in procs.items():
        fields = _stat(pid)
        if fields is not None and fields[19] == started and fields[0] != "Z":
            with contextlib.suppress(OSError):  # gone meanwhile
                command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                left[pid] = command[:120].decode(errors="replace")
    return left


class DemoRun:
    """A demo started as a terminal would, its output read line by line as it comes."""

    def __init__(self, folder: Path, port: int) -> None:
        self.process = start_demo(folder, port)
        self.lines: list[str] = []
        self._new: queue.Queue[str | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        with self.process.stdout:
            for line in self.process.stdout:
                self.lines.append(line)
                self._new.put(line)
        self._new.put(None)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for(self, start: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self._new.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                raise AssertionError(f"the demo ended before {start!r}:\n{self.output}")
            if line.startswith(start):
                return line
        raise AssertionError(f"no {start!r} from the demo within {timeout} s:\n{self.output}")

    def wait_for_process(self, word: str, timeout: float = 60) -> None:
        """Until a process under the demo has `word` in its command line."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(word in cmd for cmd in running(under(self.process.pid)).values()):
                return
            time.sleep(0.02)
        raise AssertionError(f"no {word} process under the demo within {timeout} s")

    def interrupt(self, folder: Path, moment: str) -> float:
        """Ctrl-C (SIGINT to the demo's process group, as a terminal sends it): the demo says
        it stopped and exits 0; the seconds until every process under it was gone."""
        ctrl_c = lambda: os.killpg(self.process.pid, signal.SIGINT)  # noqa: E731
        return self._ends(folder, moment, ctrl_c, 0, "jupyter-ext demo: stopped")

    def kill_hub(self, folder: Path, moment: str) -> float:
        """The hub killed (so it cleans up nothing): the demo says so, exits 1 and ends what
        the hub left running (its proxy, its job server)."""
        commands = running(under(self.process.pid))
        hub = next(pid for pid, command in commands.items() if "bin/jupyterhub " in command)
        kill = lambda: os.kill(hub, signal.SIGKILL)  # noqa: E731
        return self._ends(folder, moment, kill, 1, "error: the hub exited")

    def _ends(self, folder: Path, moment: str, act, status: int, last: str) -> float:
        procs = under(self.process.pid)
        sent = time.monotonic()
        act()
        try:
            self.process.wait(90)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise AssertionError(f"{moment}: the demo did not exit:\n{self.output}") from None
        deadline = time.monotonic() + 30
        while (left := running(procs)) and time.monotonic() < deadline:
            time.sleep(0.02)
        took = time.monotonic() - sent
        assert not left, f"{moment}: processes outlived the demo: {left}"
        assert not processes_running(str(folder)), f"{moment}: a process of the demo is left"
        self._reader.join(10)  # the last lines read
        assert self.process.returncode == status, f"{moment}: exit {self.process.returncode}"
        assert "Traceback" not in self.output, f"{moment}:\n{self.output}"
        assert self.output.rstrip().splitlines()[-1].startswith(last), self.output
        for log in ("hub.log", "runner.log"):
            text = (folder / log).read_text() if (folder / log).exists() else ""
            assert "Traceback" not in text, f"{moment}: a traceback in {log}:\n{text[-3000:]}"
        assert not (folder / "jupyterhub.pid").exists() and not (folder / "proxy.pid").exists()
        print(f"{moment}: {len(procs)} processes gone {took:.2f} s after it")
        return took


def start_workspace_server(url: str, login: str, workspace: str) -> None:
    with closing(sign_in(url, login)) as browser:
        xsrf = {"X-XSRFToken": browser.cookies.get("_xsrf", path="/hub/")}
        browser.get(f"hub/spawn/{login}/{workspace}")
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            servers = browser.get(f"hub/api/users/{login}", headers=xsrf).json()["servers"]
            if servers.get(workspace, {}).get("ready"):
                return
            time.sleep(0.25)
        raise AssertionError(f"the server of {workspace} did not start: {servers}")


def test_ctrl_c_at_any_moment_stops_everything_and_the_demo_starts_again(tmp_path):
    folder, port = tmp_path / "demo", free_port()

    demo = DemoRun(folder, port)
    demo.wait_for("jupyter-ext demo: preparing")
    demo.interrupt(folder, "right after starting")

    demo = DemoRun(folder, port)
    demo.wait_for("jupyter-ext demo: seeding the accounts")
    demo.wait_for_process("admin")
    demo.interrupt(folder, "while seeding the accounts")

    demo = DemoRun(folder, port)
    demo.wait_for("jupyter-ext demo: starting the hub")
    demo.wait_for_process("jupyterhub")
    demo.interrupt(folder, "while the hub starts")

    demo = DemoRun(folder, port)
    demo.wait_for("jupyter-ext demo: seeding the demo project")
    demo.interrupt(folder, "while seeding the project")

    demo = DemoRun(folder, port)
    url = demo.wait_for("jupyter-ext demo: http").split(": ", 1)[1].strip()
    start_workspace_server(url, "analyst", "demo-study")
    demo.interrupt(folder, "up, with a workspace server")

    demo = DemoRun(folder, port)  # at once, on the same folder and port
    url = demo.wait_for("jupyter-ext demo: http").split(": ", 1)[1].strip()
    with closing(sign_in(url, "checker")) as checker:
        assert 'data-server-name="demo-study"' in checker.get("hub/home").text
    demo.kill_hub(folder, "the second demo, its hub killed")
