"""Run actions as local processes: for the demo and development, not for secure sites.

It does not isolate: a job can read what the runner's user can read. Its health
report says so. Each job is a process group of its own, so a cancel or a time
limit stops everything it started, within a second.
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

from .base import Execution, Executor


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

    async def run(self, identifier, argv, cwd, env, on_line: Callable[[str], None]) -> Execution:
        image, *args = argv
        program = self.program(image)
        if program is None or shutil.which(program[0]) is None:
            return Execution(
                None,
                f"the image {image!r} has no local command here: set "
                "LocalExecutor.commands, or run it on a Docker backend",
            )
        try:
            process = await asyncio.create_subprocess_exec(
                *program,
                *args,
                cwd=cwd,
                env=env,
                start_new_session=True,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
        except OSError as exc:
            return Execution(None, f"the command could not start: {exc.strerror}")
        self.processes[identifier] = process
        provenance = {
            "executor": "local",
            "interpreter": program[0],
            "python": platform.python_version(),
        }
        try:
            async with asyncio.timeout(self.time_limit):
                async for raw in process.stdout:
                    on_line(raw.decode(errors="replace").rstrip("\n"))
                code = await process.wait()
        except TimeoutError:
            await self._stop(process)
            return Execution(
                None,
                f"stopped: it ran longer than its limit of {self.time_limit:g} s",
                timed_out=True,
                provenance=provenance,
            )
        finally:
            self.processes.pop(identifier, None)
        if identifier in self.cancelled:
            self.cancelled.discard(identifier)
            return Execution(code, "cancelled", cancelled=True, provenance=provenance)
        return Execution(code, "" if code == 0 else f"exit code {code}", provenance=provenance)

    async def cancel(self, identifier: str) -> None:
        process = self.processes.get(identifier)
        if process is not None:
            self.cancelled.add(identifier)
            await self._stop(process)

    async def _stop(self, process: asyncio.subprocess.Process) -> None:
        """SIGTERM the whole process group, then SIGKILL what is left."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, sig)
            try:
                await asyncio.wait_for(process.wait(), self.grace)
                return
            except TimeoutError:
                continue

    def describe(self) -> dict:
        return {**super().describe(), "note": "local processes: no isolation (development only)"}
