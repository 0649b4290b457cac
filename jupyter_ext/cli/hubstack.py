"""The hub and what runs beside it, as processes: for `jupyter ext demo` and the tests.

`HubStack` writes a small config file of its own (loaded by
hub_config/jupyterhub_config.py), starts `jupyterhub` (which starts the proxy
and the job server as its managed service), waits until both answer, and
stops them by their PID: SIGTERM to the hub stops the servers it spawned, its
service and its proxy; whatever of them outlives the hub is ended by PID.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from . import processes
from .processes import INTERRUPTS

BIN = Path(sys.executable).parent
PROXY_VERSION = "5.3.0"
PROXY_CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "jupyter-ext"


class StackError(Exception):
    """A part of the stack did not start; the sentence says which and why."""


def hub_config_dir() -> Path:
    """hub_config/: inside the installed package, or beside it in a source checkout."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "hub_config", package.parent / "hub_config"):
        if (candidate / "jupyterhub_config.py").exists():
            return candidate
    raise StackError("hub_config/jupyterhub_config.py is missing from this installation")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ensure_proxy(cache: Path = PROXY_CACHE / "proxy") -> Path:
    """configurable-http-proxy: on PATH, or installed once with npm into a local folder."""
    found = shutil.which("configurable-http-proxy")
    if found:
        return Path(found)
    local = cache / "node_modules" / ".bin" / "configurable-http-proxy"
    if not local.exists():
        if shutil.which("npm") is None:
            raise StackError("configurable-http-proxy needs node and npm: install nodejs and npm")
        cache.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(cache),
                f"configurable-http-proxy@{PROXY_VERSION}",
                "--no-audit",
                "--no-fund",
                "--silent",
            ],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0 or not local.exists():
            raise StackError(f"npm could not install configurable-http-proxy: {done.stderr[-500:]}")
    return local


def wait_until(check, what: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise StackError(f"{what} exited with status {process.returncode}")
        try:
            if check():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise StackError(f"{what} did not answer within {timeout:g} s")


class HubStack:
    """One hub, its proxy and its job server, in `folder`, on loopback.

    `plain=True` runs JupyterHub with `settings` alone, none of hub_config/ (for
    comparisons): no job server, no hook, the hub's own pages."""

    def __init__(
        self,
        folder: Path,
        port: int,
        settings: dict[str, object],
        env: dict[str, str] | None = None,
        log=None,
        plain: bool = False,
    ) -> None:
        self.folder, self.port, self.settings = Path(folder), port, settings
        self.env, self.log, self.plain = env or {}, log, plain
        self.jobserver_port = int(settings.get("JupyterExtHub.jobserver_port") or free_port())
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    @property
    def jobserver_url(self) -> str:
        """The job server directly (runners and the hub's hooks reach it so)."""
        return f"http://127.0.0.1:{self.jobserver_port}/services/jobserver/"

    def write_config(self) -> Path:
        settings = {
            "JupyterHub.ip": "127.0.0.1",
            "JupyterHub.port": self.port,
            "JupyterHub.hub_ip": "127.0.0.1",
            "JupyterHub.hub_port": free_port(),
            "JupyterHub.db_url": f"sqlite:///{self.folder / 'jupyterhub.sqlite'}",
            "JupyterHub.cookie_secret_file": str(self.folder / "jupyterhub_cookie_secret"),
            "JupyterHub.pid_file": str(self.folder / "jupyterhub.pid"),
            "ConfigurableHTTPProxy.command": [str(ensure_proxy())],
            "ConfigurableHTTPProxy.api_url": f"http://127.0.0.1:{free_port()}",
            "ConfigurableHTTPProxy.pid_file": str(self.folder / "proxy.pid"),
            **({} if self.plain else {"JupyterExtHub.jobserver_port": self.jobserver_port}),
            **self.settings,
        }
        lines = [
            "# written by jupyter-ext for this run: every change here is lost on restart",
            "c = get_config()  # noqa",
        ]
        lines += [f"c.{name} = {value!r}" for name, value in settings.items()]
        path = self.folder / "jupyterhub_stack_config.py"
        path.write_text("\n".join(lines) + "\n")
        return path

    def start(self, timeout: float = 60.0) -> HubStack:
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.write_config()
        env = {**os.environ, **self.env, "JUPYTER_EXT_HUB_CONFIG": str(config)}
        main = config if self.plain else hub_config_dir() / "jupyterhub_config.py"
        with INTERRUPTS.shielded():  # a Ctrl-C now finds the hub recorded, to be stopped
            self.process = subprocess.Popen(
                [str(BIN / "jupyterhub"), "-f", str(main)],
                cwd=self.folder,
                env=env,
                stdout=self.log or subprocess.DEVNULL,
                stderr=self.log or subprocess.DEVNULL,
                start_new_session=True,
            )
        try:
            wait_until(
                lambda: httpx.get(f"{self.url}hub/api/").status_code == 200,
                "JupyterHub",
                timeout,
                self.process,
            )
            if not self.plain:
                wait_until(
                    lambda: httpx.get(f"{self.jobserver_url}api/v1/").status_code < 500,
                    "the job server",
                    timeout,
                    self.process,
                )
        except StackError:
            self.stop()
            raise
        return self

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to the hub (it stops its servers, service and proxy), SIGKILL if it hangs;
        then whatever it started that outlived it, by PID; no stale PID file is left."""
        if self.process is None:
            return
        proxy = self._proxy()  # read first: the hub removes the file when it stops the proxy
        processes.stop(self.process, timeout)
        processes.end(proxy)  # left by a hub that exited on its own (a failed start)
        for name in ("jupyterhub.pid", "proxy.pid"):
            (self.folder / name).unlink(missing_ok=True)

    def _proxy(self) -> set[processes.Proc]:
        """The proxy of proxy.pid, if that PID is still a proxy on this stack's port."""
        try:
            pid = int((self.folder / "proxy.pid").read_text())
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, ValueError):
            return set()
        port = f" --port {self.port} ".encode()
        ours = b"configurable-http-proxy" in command and port in command
        return {p for p in processes.family(pid) if p.pid == pid} if ours else set()
