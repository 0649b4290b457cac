"""The runner's loop: hold the job server's long-poll, run each job it hands over.

A job: check the repository out at its commit, give it the outputs of the actions
it needs (kept in the workspace's folder on the site), run its command in the
executor, stream its log, then match what it produced against its declared
outputs, record each output's size, sha256 and privacy level, and keep the
files on the site. Heartbeats renew leases and bring cancellations.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import shlex
import shutil
from pathlib import Path

import httpx

from .. import schema
from .._version import __version__
from ..pipeline import Outputs, match_outputs
from .api import JobServerAPI, JobServerError
from .checkout import CheckoutError, checkout
from .executors import Executor
from .logs import LogShipper

log = logging.getLogger("jupyter_ext.runner")
RECORDS = ".jupyter-ext"  # the workspace folder's record of which action made which files


class Agent:
    def __init__(self, api: JobServerAPI, executor: Executor, workdir: Path, capacity: int = 2,
                 log_cap: int = 100_000, heartbeat_every: float = 10.0) -> None:  # fmt: skip
        self.api, self.executor, self.workdir = api, executor, Path(workdir)
        self.capacity, self.log_cap, self.heartbeat_every = capacity, log_cap, heartbeat_every
        self.running: dict[str, asyncio.Task] = {}
        self.freed = asyncio.Event()

    async def run_forever(self, poll_wait: float = 25.0) -> None:
        beats = asyncio.create_task(self._heartbeats())
        try:
            while True:
                free = self.capacity - len(self.running)
                if free <= 0:
                    self.freed.clear()
                    await self.freed.wait()
                    continue
                try:
                    leases = await self.api.poll(free, poll_wait)
                except (JobServerError, httpx.HTTPError) as exc:  # away too long: try again
                    log.warning("polling the job server failed: %s", exc)
                    await asyncio.sleep(1)
                    continue
                for lease in leases:
                    task = asyncio.create_task(self.run_job(lease))
                    self.running[lease.identifier] = task
                    task.add_done_callback(lambda _, i=lease.identifier: self._done(i))
        finally:
            beats.cancel()

    def _done(self, identifier: str) -> None:
        self.running.pop(identifier, None)
        self.freed.set()

    async def _heartbeats(self) -> None:
        while True:
            beat = schema.Heartbeat(
                version=__version__, executor=self.executor.name,
                capacity=max(0, self.capacity - len(self.running)), running=list(self.running),
            )  # fmt: skip
            try:
                reply = await self.api.heartbeat(beat)
                for identifier in reply.cancel:
                    await self.executor.cancel(identifier)
            except (JobServerError, httpx.HTTPError) as exc:
                log.warning("heartbeat failed: %s", exc)
            await asyncio.sleep(self.heartbeat_every)

    async def run_job(self, lease: schema.Lease) -> None:
        ident = lease.identifier
        job_dir = self.workdir / "jobs" / ident
        space = self.workdir / "workspaces" / lease.workspace
        shipper = LogShipper(self.api, ident, self.workdir / "logs" / f"{ident}.log", self.log_cap)
        try:
            state, message, code = await self._run(lease, job_dir, space, shipper)
        except Exception as exc:  # the job fails, saying why; the runner goes on
            log.exception("job %s failed in the runner", ident)
            state, message, code = "failed", f"the runner failed: {type(exc).__name__}: {exc}", None
        finally:
            await shipper.close()
            shutil.rmtree(job_dir, ignore_errors=True)
        await self.api.status(
            ident, schema.StatusUpdate(state=state, status_message=message[:2000], exit_code=code)
        )

    async def _run(self, lease, job_dir: Path, space: Path, shipper: LogShipper):
        try:
            await checkout(
                lease.repo, lease.sha, job_dir, self.workdir / "repos", lease.github_token
            )
        except CheckoutError as exc:
            return "failed", f"checkout failed: {exc}", None
        self._bring_needs(lease, job_dir, space)
        before = _files(job_dir)
        parts = shlex.split(lease.run)
        image = parts[0].partition(":")[0]
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(job_dir), "LANG": "C.UTF-8"}
        execution = await self.executor.run(lease.identifier, [image, *parts[1:]], job_dir, env,
                                            shipper.add)  # fmt: skip
        if execution.cancelled:
            return "cancelled", "", execution.exit_code
        if execution.exit_code != 0:
            return "failed", execution.message, execution.exit_code
        produced = {p for p, sig in _files(job_dir).items() if before.get(p) != sig}
        matched = match_outputs(Outputs(lease.outputs), produced)
        if matched.missing:
            names = ", ".join(pattern for _, _, pattern in matched.missing)
            return "failed", f"declared outputs were not produced: {names}", 0
        outputs = [schema.Output(path=path, size=(job_dir / path).stat().st_size,
                                 sha256=_sha256(job_dir / path), privacy_level=level)
                   for path, (level, _, _) in sorted(matched.matched.items())]  # fmt: skip
        await self.api.outputs(lease.identifier, schema.OutputsReport(outputs=outputs))
        self._keep(lease, job_dir, space, [o.path for o in outputs])
        note = f"; {len(matched.undeclared)} undeclared files stayed" if matched.undeclared else ""
        return "succeeded", f"{len(outputs)} outputs{note}", 0

    def _bring_needs(self, lease, job_dir: Path, space: Path) -> None:
        """The outputs of the actions it needs, from earlier jobs of this workspace here."""
        for action in lease.needs:
            record = space / RECORDS / f"{action}.json"
            for path in json.loads(record.read_text()) if record.exists() else []:
                target = job_dir / path
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(space / path, target)

    def _keep(self, lease, job_dir: Path, space: Path, paths: list[str]) -> None:
        for path in paths:
            target = space / path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(job_dir / path, target)
        (space / RECORDS).mkdir(parents=True, exist_ok=True)
        (space / RECORDS / f"{lease.action}.json").write_text(json.dumps(paths))


def _files(root: Path) -> dict[str, tuple[int, int]]:
    """Every regular file under `root` (links are not followed): path -> (size, mtime)."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            info = path.stat()
            found[path.relative_to(root).as_posix()] = (info.st_size, info.st_mtime_ns)
    return found


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()
