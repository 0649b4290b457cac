"""`jupyter ext runner`: the runner of one backend, as a traitlets Application.

    jupyter ext runner --server URL --backend SLUG --token-file FILE --executor local --workdir DIR

Flags are aliases of traits; a config file holds the rest (image map, limits).
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from traitlets import Integer, Unicode, default

from ..app import JupyterExtBase, base_aliases, base_flags
from .executors import LocalExecutor

EXECUTORS = {"local": LocalExecutor}


class RunnerApp(JupyterExtBase):
    name = "jupyter-ext-runner"
    description = "Run a backend's jobs: long-poll the job server, run each job by the data."
    examples = (
        "jupyter ext runner --server http://127.0.0.1:8100 --backend tpp --token-file runner.token"
    )
    aliases = {
        **base_aliases,
        "server": "RunnerApp.server",
        "backend": "RunnerApp.backend",
        "token-file": "RunnerApp.token_file",
        "executor": "RunnerApp.executor",
        "workdir": "RunnerApp.workdir",
        "capacity": "RunnerApp.capacity",
    }
    flags = base_flags
    classes = [LocalExecutor]

    server = Unicode("http://127.0.0.1:8100", help="The job server's address.").tag(config=True)
    backend = Unicode("", help="The slug of the backend this runner serves.").tag(config=True)
    token_file = Unicode(
        "", help="File holding the backend's runner token (never give it on the command line)."
    ).tag(config=True)
    executor = Unicode("local", help=f"How jobs run: {', '.join(EXECUTORS)}.").tag(config=True)
    workdir = Unicode(help="Folder of checkouts, workspaces' outputs and logs, on the site.").tag(
        config=True
    )
    capacity = Integer(2, help="Jobs run at once.").tag(config=True)
    log_cap = Integer(100_000, help="Log lines per job sent to the job server.").tag(config=True)

    @default("workdir")
    def _default_workdir(self) -> str:
        return str(Path.cwd() / "jupyter_ext_runner")

    def run(self) -> None:
        if self.executor not in EXECUTORS:
            self.exit(f"error: --executor must be one of {', '.join(EXECUTORS)}")
        try:
            token = Path(self.token_file).read_text().strip() if self.token_file else ""
        except OSError as exc:
            self.exit(f"error: cannot read the token file {self.token_file}: {exc.strerror}")
        if not token:
            self.exit("error: give the backend's runner token in a file: --token-file FILE")
        asyncio.run(self._serve(token))

    async def _serve(self, token: str) -> None:
        from .agent import Agent
        from .api import JobServerAPI

        api = JobServerAPI(self.server, token)
        executor = EXECUTORS[self.executor](parent=self)
        agent = Agent(api, executor, Path(self.workdir), self.capacity, self.log_cap)
        task = asyncio.create_task(agent.run_forever())
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        self.log.info("Running %s's jobs from %s (%s executor)", self.backend or "the backend",
                      self.server, self.executor)  # fmt: skip
        try:
            await task
        except asyncio.CancelledError:
            pass
        finally:
            await api.close()
