"""The runner's loop: hold the job server's long-poll, run each job it hands over.

A job: check the repository out at its commit, give it the outputs of the actions
it needs (kept in the workspace's folder on the site), run its command in the
executor, stream its log, then match what it produced against its declared
outputs, record each output's size, sha256 and privacy level, and keep the
files on the site. Heartbeats renew leases and bring cancellations and the
release files to upload. The journal makes a restart lose nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import shlex
import shutil
from pathlib import Path

import httpx

from .. import schema
from .._version import __version__
from ..pipeline import Outputs, match_outputs
from ..schema import check_file
from .api import JobServerAPI, JobServerError
from .checkout import CheckoutError, checkout
from .datasets import DatasetRefused, Registry, leased_folders
from .executors import Executor, JobSpec
from .hashing import sha256_file
from .journal import Journal
from .logs import LogShipper
from .policy import LogPolicy
from .provenance import Store, build, read_record, start_record, write_record, write_site_record
from .quota import WORKSPACE, DiskError, JobFolders, over_quota
from .uploads import Uploader

log = logging.getLogger("jupyter_ext.runner")


class RunnerRefused(Exception):
    """The job server will not talk to this runner (its token): stopping is the only answer."""


class Agent:
    def __init__(
        self, api: JobServerAPI, executor: Executor, workdir: Path, capacity: int = 2,
        log_cap: int = 100_000, heartbeat_every: float = 10.0,
        data_roots: list[str] | None = None, log_policy: LogPolicy | None = None,
        release_rules: schema.ReleaseRules | None = None, job_disk_mb: int = 10240,
    ) -> None:  # fmt: skip
        self.api, self.executor, self.workdir = api, executor, Path(workdir)
        self.folders = JobFolders(self.workdir, job_disk_mb)  # private, each on a bounded disk
        self.capacity, self.log_cap, self.heartbeat_every = capacity, log_cap, heartbeat_every
        self.log_policy = log_policy or LogPolicy()
        self.data_roots = list(data_roots or [])
        self.registry = Registry(self.workdir)  # read at each job: `dataset add` needs no restart
        self.journal = Journal(self.workdir / "journal")
        self.release_rules = release_rules or schema.ReleaseRules()
        self.uploader = Uploader(api, self.workdir / "workspaces", self.release_rules,
                                 site=self.workdir)  # fmt: skip
        self.store = Store(self.workdir / "store")  # every output's bytes, by sha256
        self.running: dict[str, asyncio.Task] = {}
        self.freed = asyncio.Event()

    async def run_forever(self, poll_wait: float = 25.0) -> None:
        self.resume()
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
                except JobServerError as exc:
                    if exc.status in (401, 403):  # no point trying again: say what to fix
                        raise RunnerRefused(
                            f"the job server refused this runner ({exc.detail}): check the "
                            "backend's runner token in --token-file"
                        ) from None
                    log.warning("polling the job server failed: %s", exc)
                    await asyncio.sleep(1)
                    continue
                except httpx.HTTPError as exc:  # away too long: try again
                    log.warning("polling the job server failed: %s", exc)
                    await asyncio.sleep(1)
                    continue
                for lease in leases:
                    if lease.identifier not in self.running:  # never the same job twice
                        self._track(lease.identifier, self.run_job(lease))
        finally:
            beats.cancel()
            await self.uploader.close()

    def resume(self) -> None:
        """Take back what an earlier runner process left: follow its jobs on, resend reports."""
        followed = {lease.identifier for lease, final in self.journal.entries() if final is None}
        self.folders.sweep(followed)  # the other jobs' folders, disks and mounts go
        for lease, final in self.journal.entries():
            if final is None:
                log.info("following job %s on after a restart", lease.identifier)
                self._track(lease.identifier, self.run_job(lease, recovering=True))
            else:
                self._track(lease.identifier, self._report(lease.identifier, final))

    def _track(self, identifier: str, work) -> None:
        task = asyncio.create_task(work)
        self.running[identifier] = task
        task.add_done_callback(lambda _: self._done(identifier))

    def _done(self, identifier: str) -> None:
        self.running.pop(identifier, None)
        self.freed.set()

    async def _heartbeats(self) -> None:
        while True:
            beat = schema.Heartbeat(
                version=__version__, executor=self.executor.health(),
                capacity=max(0, self.capacity - len(self.running)), running=list(self.running),
                release_rules=self.release_rules,
            )  # fmt: skip
            try:
                reply = await self.api.heartbeat(beat)
                self.log_policy.hear(reply.log_policy)  # the stricter of it and the site's holds
                for identifier in reply.cancel:
                    await self.executor.cancel(identifier)
                self.uploader.want(reply.uploads)
            except (JobServerError, httpx.HTTPError) as exc:
                log.warning("heartbeat failed: %s", exc)
            await asyncio.sleep(self.heartbeat_every)

    async def run_job(self, lease: schema.Lease, recovering: bool = False) -> None:
        ident = lease.identifier
        if not recovering:
            self.journal.start(lease)
        spec = self._spec(lease)
        shipper = LogShipper(self.api, ident, self.workdir / "logs" / f"{ident}.log",
                             self.log_cap, self.log_policy)  # fmt: skip
        try:
            state, message, code = await self._run(lease, spec, shipper, recovering)
        except Exception as exc:  # the job fails, saying why; the runner goes on
            log.exception("job %s failed in the runner", ident)
            state, message, code = "failed", f"the runner failed: {type(exc).__name__}: {exc}", None
        finally:
            with contextlib.suppress(JobServerError, httpx.HTTPError):
                await shipper.close()  # else the lines stay on disk for the next start
        update = schema.StatusUpdate(state=state, status_message=message[:2000], exit_code=code)
        self.journal.finish(ident, update)
        await asyncio.to_thread(self.folders.remove, ident)
        shutil.rmtree(spec.scratch, ignore_errors=True)
        await self._report(ident, update)

    async def _report(self, identifier: str, update: schema.StatusUpdate) -> None:
        """Send a job's final state; once the job server has it, forget the job."""
        try:
            await self.api.status(identifier, update)
        except JobServerError as exc:  # it moved on (lease expired, job gone): say so, forget
            log.warning("the job server refused the end of %s: %s", identifier, exc.detail)
        except httpx.HTTPError as exc:
            log.warning("the end of %s stays in the journal until next start: %s", identifier, exc)
            return
        self.journal.forget(identifier)

    def _spec(self, lease: schema.Lease) -> JobSpec:
        """The job's spec; its datasets are given once they are checked (`_run`)."""
        return job_spec(lease, self.workdir / "jobs" / lease.identifier / WORKSPACE,
                        self.workdir / "scratch" / lease.identifier, {})  # fmt: skip

    async def _run(self, lease, spec: JobSpec, shipper: LogShipper, recovering: bool):
        before_file = spec.scratch / "before.json"
        if recovering:
            if not before_file.exists():
                return "failed", "the runner stopped before the job started: run it again", None
            before = {p: tuple(sig) for p, sig in json.loads(before_file.read_text()).items()}
            execution = await self.executor.recover(spec, shipper.add, shipper.seen)
        else:
            try:  # exactly the leased versions, each still as registered, or the job fails
                spec.datasets = await asyncio.to_thread(
                    leased_folders, lease.datasets, self.registry, self.data_roots, self.cache
                )
            except DatasetRefused as exc:
                return "failed", f"not started: {exc}", None
            try:
                await asyncio.to_thread(self.folders.make, lease.identifier)
            except DiskError:
                log.exception("job %s: its folder's disk could not be made", lease.identifier)
                return "failed", "not started: the job's folder could not be made on the site", None
            try:
                await checkout(lease.repo, lease.sha, spec.workdir, self.workdir / "repos",
                               lease.github_token)  # fmt: skip
            except CheckoutError as exc:
                return "failed", f"checkout failed: {exc}", None
            space = self.workdir / "workspaces" / lease.workspace
            inputs = self._bring_needs(lease, spec.workdir, space)
            before = _files(spec.workdir)
            spec.scratch.mkdir(parents=True, exist_ok=True)
            given = start_record(inputs, lease.datasets)
            (spec.scratch / "given.json").write_text(json.dumps(given))
            before_file.write_text(json.dumps(before))
            stop = functools.partial(self.executor.cancel, lease.identifier)
            async with self.folders.watched(lease.identifier, stop):
                execution = await self.executor.run(spec, shipper.add)
        if self.folders.full(lease.identifier):
            return "failed", over_quota(self.folders.limit_mb), execution.exit_code
        if execution.cancelled:
            return "cancelled", "", execution.exit_code
        if execution.exit_code != 0:
            return "failed", execution.message, execution.exit_code
        return await self._collect(lease, spec, before, execution.provenance)

    @property
    def cache(self) -> Path:
        return self.workdir / "cache"

    async def _collect(self, lease, spec: JobSpec, before: dict, facts: dict):
        """Match what the job made against its declared outputs; keep them on the site."""
        job_dir = spec.workdir
        produced = {p for p, sig in _files(job_dir).items() if before.get(p) != sig}
        matched = match_outputs(Outputs(lease.outputs), produced)
        if matched.missing:
            names = ", ".join(pattern for _, _, pattern in matched.missing)
            return "failed", f"declared outputs were not produced: {names}", 0
        outputs = [schema.Output(path=path, size=(job_dir / path).stat().st_size,
                                 sha256=sha256_file(job_dir / path), privacy_level=level)
                   for path, (level, _, _) in sorted(matched.matched.items())]  # fmt: skip
        outputs = await asyncio.to_thread(self._checked, job_dir, outputs)
        provenance = await asyncio.to_thread(self._provenance, lease, spec, facts, outputs)
        report = schema.OutputsReport(outputs=outputs, provenance=provenance)
        await self.api.outputs(lease.identifier, report)
        space = self.workdir / "workspaces" / lease.workspace
        self._keep(lease, job_dir, space, outputs)
        if provenance is not None:
            write_site_record(self.workdir / "provenance", lease, provenance)
        note = f"; {len(matched.undeclared)} undeclared files stayed" if matched.undeclared else ""
        return "succeeded", f"{len(outputs)} outputs{note}", 0

    def _provenance(self, lease, spec: JobSpec, facts: dict, outputs) -> schema.Provenance | None:
        """What made the outputs; a job is never failed for want of it (it is logged)."""
        try:
            given = json.loads((spec.scratch / "given.json").read_text())
            return build(lease, self.executor.name, facts, given, outputs,
                         spec.env.get("PATH", ""), self.cache)  # fmt: skip
        except Exception:
            log.exception("the provenance of job %s could not be recorded", lease.identifier)
            return None

    def _checked(self, job_dir: Path, outputs: list[schema.Output]) -> list[schema.Output]:
        """The rules over each moderately sensitive output (the only kind a release may ask
        for), so that its author sees what to fix before any checker is asked."""
        level = schema.PrivacyLevel.MODERATELY_SENSITIVE
        return [o.model_copy(update={"check": check_file(job_dir / o.path, self.release_rules,
                                                         o.path)})
                if o.privacy_level == level else o for o in outputs]  # fmt: skip

    def _bring_needs(self, lease, job_dir: Path, space: Path) -> list[schema.FileDigest]:
        """The outputs of the actions it needs, from earlier jobs of this workspace here: the
        bytes that job made (from the store), each recorded with its sha256 and that job."""
        inputs = []
        for action in lease.needs:
            job, outputs = read_record(space, action)
            for path, sha in outputs.items():
                target = job_dir / path
                target.parent.mkdir(parents=True, exist_ok=True)
                stored = self.store.path(sha) if sha else None
                source = stored if stored is not None and stored.is_file() else space / path
                shutil.copyfile(source, target)
                inputs.append(schema.FileDigest(path=path, sha256=sha256_file(target), job=job))
        return inputs

    def _keep(self, lease, job_dir: Path, space: Path, outputs: list[schema.Output]) -> None:
        for output in outputs:
            target = space / output.path
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(job_dir / output.path, target)
            self.store.keep(job_dir / output.path, output.sha256)  # linked: not the copy above
        write_record(space, lease.action, lease.identifier, {o.path: o.sha256 for o in outputs})


def job_spec(
    lease: schema.Lease, job_dir: Path, scratch: Path, datasets: dict[str, Path],
    identifier: str | None = None,
) -> JobSpec:  # fmt: skip
    """How a leased job runs: shared with `runner verify`, so a re-run sees what the job saw."""
    image, *args = shlex.split(lease.run)
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(job_dir), "LANG": "C.UTF-8"}
    return JobSpec(
        identifier=identifier or lease.identifier, image=image.partition(":")[0], args=args,
        workdir=job_dir, env=env, datasets=datasets, scratch=scratch,
        labels={"workspace": lease.workspace, "action": lease.action},
    )  # fmt: skip


def _files(root: Path) -> dict[str, tuple[int, int]]:
    """Every regular file under `root` (links are not followed): path -> (size, mtime)."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            info = path.stat()
            found[path.relative_to(root).as_posix()] = (info.st_size, info.st_mtime_ns)
    return found
