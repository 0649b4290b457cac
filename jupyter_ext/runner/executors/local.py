"""Run actions as local processes: for the demo and development, not for secure sites.

It does not isolate: a job can read any path the runner's user can read, datasets it
was not leased included (it is only given the leased ones under $JUPYTER_EXT_DATASETS,
as links), and can write wherever that user can. Its health report says so.

Of a job's limits it applies the time limit alone (the base's: what its action asked for,
else `time_limit`): its CPUs and memory are not confined, whatever the action asked for or
the traits say, as nothing else of it is.

Each job is a process group of its own, so a cancel or a time limit stops
everything it started, within a second. Its output comes through a
pipe, so a job cannot outlive a runner that was killed: a restarted runner
stops what is left of it and says so.

What a job used is measured by a small wrapper it runs under (`runner/measured_main.py`):
its own rusage by `os.wait4`, which other jobs running beside it never add to (CPU, the
largest resident set of one of its processes), and its time from start to end.
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
from ..notebooks import NOTEBOOK_MAIN
from ..usage import MEASURED_MAIN, job_usage, read_measured
from .base import Execution, Executor, Job, link_datasets, rest_of_log

READ_BYTES = 1 << 16
MEASURED = "usage.json"  # in the job's scratch folder: what the wrapper measured

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
        return {
            "python": [sys.executable],
            "jupyter": [sys.executable, str(NOTEBOOK_MAIN)],  # this Python's nbclient, ipykernel
            "r": ["Rscript"],
            "stata-mp": ["stata-mp", "-b"],
        }

    def program(self, image: str) -> list[str] | None:
        return (self.commands or self._default_commands()).get(image)

    async def _start(self, job: Job) -> Execution | None:
        spec = job.spec
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
        spec.scratch.mkdir(parents=True, exist_ok=True)
        measured = spec.scratch / MEASURED
        measured.unlink(missing_ok=True)
        wrapper = [sys.executable, "-I", "-S", str(MEASURED_MAIN), str(measured)]
        try:
            job.handle = await asyncio.create_subprocess_exec(
                *wrapper,
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
        (spec.scratch / "pid").write_text(str(job.handle.pid))
        job.provenance = {
            "executor": "local",
            "interpreter": program[0],
            "python": platform.python_version(),
        }
        return None

    async def _wait(self, job: Job, on_line: Callable[[str], None]) -> Execution:
        process = job.handle
        lines = asyncio.create_task(self._read(process, on_line))
        try:
            code = await process.wait()
            await rest_of_log(job, lines)
        finally:
            lines.cancel()  # a runner that stops reads no more (its pipe ends the job)
        return Execution(
            code,
            "" if code == 0 else f"exit code {code}",
            provenance=job.provenance,
            usage=self._usage(job),
        )

    @staticmethod
    def _usage(job: Job):
        """What the wrapper measured (None if it could not say: killed outright)."""
        figures = read_measured(job.spec.scratch / MEASURED)
        if "wall_seconds" not in figures:
            return None
        rss = figures.get("max_rss_kib")
        return job_usage(
            figures["wall_seconds"],
            figures.get("cpu_seconds"),
            int(rss * 1024) if rss is not None else None,
        )

    async def _read(self, process: asyncio.subprocess.Process, on_line) -> None:
        cutter = LineCutter(self.line_max_bytes)  # a line of any length costs its length
        while chunk := await process.stdout.read(READ_BYTES):
            for line in cutter.feed(chunk):
                on_line(line)
        for line in cutter.finish():
            on_line(line)

    async def _find(self, job: Job) -> Execution:
        """A local job's pipe died with the runner: stop what is left of it, say so."""
        with contextlib.suppress(OSError, ValueError):
            pid = int((job.spec.scratch / "pid").read_text())
            await self._kill(pid, None)
        return Execution(
            None,
            "the runner stopped while the job ran, and a local process cannot be followed on: "
            "it was stopped; run the action again",
        )

    async def _stop(self, job: Job) -> None:
        await self._kill(job.handle.pid, job.handle.wait)

    async def _kill(self, pid: int, wait) -> None:
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
