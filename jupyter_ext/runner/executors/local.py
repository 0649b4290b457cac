"""Run actions as local processes: for the demo and development, not for secure sites.

It does not isolate: a job can read any path the runner's user can read, datasets it
was not leased included (it is only given the leased ones under $JUPYTER_EXT_DATASETS,
as links), and can write wherever that user can. Its health report says so.

Each job is a process group of its own, so a cancel or a time limit stops
everything it started, within a second. Its output comes through a
pipe, so a job cannot outlive a runner that was killed: a restarted runner
stops what is left of it and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import platform
import shutil
import signal
import sys
from collections.abc import Callable

from traitlets import Dict, Float

from ..lines import LineCutter
from .base import Execution, Executor, JobSpec, link_datasets, timed_out

READ_BYTES = 1 << 16

NO_ISOLATION = (
    "local processes, for development only: no isolation. A job can read any path the "
    "runner's user can, datasets it was not leased included."
)


class LocalExecutor(Executor):
    name = "local"
    isolates = False

    commands = Dict(
        help="""What each `run:` image runs locally: {image: [program, ...]}. The action's
        arguments follow. Example: c.LocalExecutor.commands = {"python": ["python3"]}"""
    ).tag(config=True)
    grace = Float(0.5, help="Seconds between SIGTERM and SIGKILL when stopping a job.").tag(
        config=True
    )

    def _default_commands(self) -> dict[str, list[str]]:
        return {"python": [sys.executable], "r": ["Rscript"], "stata-mp": ["stata-mp", "-b"]}

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.processes: dict[str, asyncio.subprocess.Process] = {}
        self.cancelled: set[str] = set()

    def program(self, image: str) -> list[str] | None:
        return (self.commands or self._default_commands()).get(image)

    async def run(self, spec: JobSpec, on_line: Callable[[str], None]) -> Execution:
        program = self.program(spec.image)
        if program is None or shutil.which(program[0]) is None:
            return Execution(
                None,
                f"the image {spec.image!r} has no local command here: set "
                "LocalExecutor.commands, or run it on a Docker backend",
            )
        env = dict(spec.env)
        if spec.datasets:
            env["JUPYTER_EXT_DATASETS"] = str(link_datasets(spec))
        try:
            process = await asyncio.create_subprocess_exec(
                *program,
                *spec.args,
                cwd=spec.workdir,
                env=env,
                start_new_session=True,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
        except OSError as exc:
            return Execution(None, f"the command could not start: {exc.strerror}")
        spec.scratch.mkdir(parents=True, exist_ok=True)
        (spec.scratch / "pid").write_text(str(process.pid))
        self.processes[spec.identifier] = process
        provenance = {
            "executor": "local",
            "interpreter": program[0],
            "python": platform.python_version(),
        }
        try:
            async with asyncio.timeout(self.time_limit):
                cutter = LineCutter(self.line_max_bytes)  # a line of any length costs its length
                while chunk := await process.stdout.read(READ_BYTES):
                    for line in cutter.feed(chunk):
                        on_line(line)
                for line in cutter.finish():
                    on_line(line)
                code = await process.wait()
        except TimeoutError:
            await self._stop(process.pid, process.wait)
            return Execution(
                None, timed_out(self.time_limit), timed_out=True, provenance=provenance
            )
        finally:
            self.processes.pop(spec.identifier, None)
        if spec.identifier in self.cancelled:
            self.cancelled.discard(spec.identifier)
            return Execution(code, "cancelled", cancelled=True, provenance=provenance)
        return Execution(code, "" if code == 0 else f"exit code {code}", provenance=provenance)

    async def recover(self, spec: JobSpec, on_line, seen: int) -> Execution:
        """A local job's pipe died with the runner: stop what is left of it, say so."""
        with contextlib.suppress(OSError, ValueError):
            pid = int((spec.scratch / "pid").read_text())
            await self._stop(pid, None)
        return Execution(
            None,
            "the runner stopped while the job ran, and a local process cannot be followed on: "
            "it was stopped; run the action again",
        )

    async def cancel(self, identifier: str) -> None:
        process = self.processes.get(identifier)
        if process is not None:
            self.cancelled.add(identifier)
            await self._stop(process.pid, process.wait)

    async def _stop(self, pid: int, wait) -> None:
        """SIGTERM the whole process group, then SIGKILL what is left."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                return
            if wait is None:
                await asyncio.sleep(self.grace)
                continue
            try:
                await asyncio.wait_for(wait(), self.grace)
                return
            except TimeoutError:
                continue

    def describe(self) -> dict:
        return {**super().describe(), "isolation": f"none: {NO_ISOLATION}"}

    def health(self) -> str:
        return "local (no isolation: a job reads all the runner's user can)"
