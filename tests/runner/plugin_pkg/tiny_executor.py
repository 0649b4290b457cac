"""A site's own executor, as small as the contract allows: what a package of the site would
ship and register in the entry-point group `jupyter_ext.executors` (see
tests/runner/test_executor_plugins.py, which registers it as `tiny`).

It writes the engine's hooks only; the time limit, cancel and the rest are the base's.
"""

from __future__ import annotations

import asyncio
import sys

from jupyter_ext.runner.executors.base import Execution, Executor


class TinyExecutor(Executor):
    name = "tiny"

    async def _start(self, job):
        if job.spec.image != "python":
            return Execution(None, f"the tiny executor runs python only, not {job.spec.image}")
        job.handle = await asyncio.create_subprocess_exec(
            sys.executable,
            *job.spec.args,
            cwd=job.spec.workdir,
            env=job.spec.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        return None

    async def _wait(self, job, on_line):
        async for line in job.handle.stdout:
            on_line(line.decode(errors="replace").rstrip("\n"))
        code = await job.handle.wait()
        message = "" if code == 0 else f"exit code {code}"
        return Execution(code, message, provenance={"executor": self.name})

    async def _stop(self, job):
        job.handle.kill()
