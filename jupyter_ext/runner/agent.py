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
import shutil
from pathlib import Path

import httpx
import pydantic

from .. import schema
from .._version import __version__
from ..schema import check_file
from ..schema.runner import MAX_OUTPUTS
from .api import JobServerAPI, JobServerError
from .checkout import CheckoutError, checkout
from .datasets import DatasetRefused, Registry, leased_folders
from .executors import Executor, JobSpec
from .job_spec import files_of, job_spec, made_and_declared
from .journal import Journal
from .leases import LeaseRefused, check_lease
from .logs import LogShipper
from .messages import public, runner_error
from .metrics import RunnerMetrics
from .notebooks import (
    FailedCell,
    NotebookError,
    check_checkout,
    failure_message,
    is_notebook_image,
)
from .outputs import OutputRefused, take_outputs
from .paths import PathEscape, inside
from .policy import LogPolicy
from .provenance import Store, build, read_record, start_record, write_record, write_site_record
from .quota import WORKSPACE, DiskError, JobFolders, over_quota
from .uploads import Uploader
from .usage import bytes_written, shareable, with_written

log = logging.getLogger("jupyter_ext.runner")


class RunnerRefused(Exception):
    """The job server will not talk to this runner (its token): stopping is the only answer."""


class Agent:
    def __init__(
        self,
        api: JobServerAPI,
        executor: Executor,
        workdir: Path,
        capacity: int = 2,
        log_cap: int = 100_000,
        heartbeat_every: float = 10.0,
        data_roots: list[str] | None = None,
        log_policy: LogPolicy | None = None,
        release_rules: schema.ReleaseRules | None = None,
        outputs_quota: int = 2048 << 20,
        job_disk_mb: int = 10240,
        max_outputs: int = MAX_OUTPUTS,
        review_copies: bool = True,
        metrics: RunnerMetrics | None = None,
    ) -> None:
        self.api, self.executor, self.workdir = api, executor, Path(workdir)
        self.folders = JobFolders(self.workdir, job_disk_mb)  # private, each on a bounded disk
        self.outputs_quota = outputs_quota  # bytes of one job's outputs the site keeps
        self.max_outputs = max_outputs  # files of one job's outputs the site keeps
        self.capacity, self.log_cap, self.heartbeat_every = capacity, log_cap, heartbeat_every
        self.log_policy = log_policy or LogPolicy()
        self.data_roots = list(data_roots or [])
        self.registry = Registry(self.workdir)  # read at each job: `dataset add` needs no restart
        self.journal = Journal(self.workdir / "journal")
        self.release_rules = release_rules or schema.ReleaseRules()
        self.uploader = Uploader(
            api,
            self.workdir / "workspaces",
            self.release_rules,
            site=self.workdir,
            review_copies=review_copies,
        )
        self.store = Store(self.workdir / "store")  # every output's bytes, by sha256
        self.records = self.workdir / "records"  # which job made each action's outputs
        self.running: dict[str, asyncio.Task] = {}
        self.measured: dict[str, schema.JobUsage] = {}  # what each job used, for its end
        self.freed = asyncio.Event()
        self.metrics = metrics or RunnerMetrics()  # served only if c.RunnerApp.metrics_port
        self.metrics.watch(self.running)

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
                self.metrics.leased(len(leases))
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
                version=__version__,
                executor=self.executor.health(),
                capacity=max(0, self.capacity - len(self.running)),
                running=list(self.running),
                release_rules=self.release_rules,
                resource_limits=self.executor.resource_limits(),
            )
            try:
                reply = await self.api.heartbeat(beat)
                self.log_policy.hear(reply.log_policy)  # the stricter of it and the site's holds
                for identifier in reply.cancel:
                    await self.executor.cancel(identifier)
                self.uploader.want(reply.uploads)
            except (JobServerError, httpx.HTTPError) as exc:
                self.metrics.heartbeats_failed.inc()
                log.warning("heartbeat failed: %s", exc)
            except pydantic.ValidationError as exc:  # nonsense is heard as nothing: beat on
                log.warning("the job server's heartbeat reply is not valid: %s", exc)
            await asyncio.sleep(self.heartbeat_every)

    @property
    def sends_job_text(self) -> bool:
        """Whether what a job chooses (its exit code, its files' names and counts, the names,
        sizes and hashes of its highly sensitive outputs) may leave: not on a backend whose
        log policy is status, where status messages are the runner's own words."""
        return getattr(self.log_policy, "sends_job_text", self.log_policy.mode != "status")

    async def run_job(self, lease: schema.Lease, recovering: bool = False) -> None:
        ident = lease.identifier
        # a job followed on after a restart was within the limits when it began
        limits = None if recovering else self.executor.resource_limits()
        try:  # before anything is written: the journal's file is named by the identifier
            check_lease(lease, limits)
        except LeaseRefused as exc:
            log.warning("job %r refused, nothing written: %s", ident[:80], exc)
            message = public(f"refused by the runner: {exc}", *self._site_words)
            await self._report(ident, schema.StatusUpdate(state="failed", status_message=message))
            return
        try:
            spec = self._spec(lease)
        except NotebookError as exc:  # its command names no notebook it can run
            message = public(f"not started: {exc}", *self._site_words)
            await self._report(ident, schema.StatusUpdate(state="failed", status_message=message))
            return
        if not recovering:
            self.journal.start(lease)
        shipper = LogShipper(
            self.api,
            ident,
            inside(self.workdir / "logs", f"{ident}.log"),
            self.log_cap,
            self.log_policy,
            on_shipped=self.metrics.shipped,
        )
        try:
            state, message, code = await self._run(lease, spec, shipper, recovering)
        except Exception:  # the job fails, saying so in a sentence; the site's log has it all
            error, message = runner_error()
            log.exception("job %s failed in the runner (error %s)", ident, error)
            state, code = "failed", None
        finally:
            with contextlib.suppress(JobServerError, httpx.HTTPError):
                await shipper.close()  # else the lines stay on disk for the next start
        message = public(message, *self._site_words)
        update = schema.StatusUpdate(
            state=state,
            status_message=message[:2000],
            exit_code=code,
            usage=self.measured.pop(ident, None),
        )
        self.journal.finish(ident, update)
        await asyncio.to_thread(self.folders.release, ident)  # unmounted before its end is said
        await self._report(ident, update)
        await asyncio.to_thread(self.folders.remove, ident)  # deleted after: it need not wait
        shutil.rmtree(spec.scratch, ignore_errors=True)

    async def _report(self, identifier: str, update: schema.StatusUpdate) -> None:
        """Send a job's final state; once the job server has it, forget the job."""
        self.metrics.job_finished(update.state)
        try:
            await self.api.status(identifier, update)
        except JobServerError as exc:  # it moved on (lease expired, job gone): say so, forget
            log.warning("the job server refused the end of %s: %s", identifier, exc.detail)
        except httpx.HTTPError as exc:
            log.warning("the end of %s stays in the journal until next start: %s", identifier, exc)
            return
        with contextlib.suppress(PathEscape):  # a refused lease has no entry to forget
            self.journal.forget(identifier)

    @property
    def _site_words(self) -> list[str]:
        """The site's own folders, as they may appear in a sentence from git or an engine."""
        return [str(self.workdir), str(self.workdir.resolve()), *self.data_roots]

    def _spec(self, lease: schema.Lease) -> JobSpec:
        """The job's spec; its datasets are given once they are checked (`_run`)."""
        job_dir = inside(self.workdir / "jobs", lease.identifier) / WORKSPACE  # its disk's root
        return job_spec(lease, job_dir, inside(self.workdir / "scratch", lease.identifier), {})

    async def _run(self, lease, spec: JobSpec, shipper: LogShipper, recovering: bool):
        before_file = spec.scratch / "before.json"
        notebook = is_notebook_image(spec.image)
        on_line = FailedCell(shipper.add) if notebook else shipper.add
        if recovering:
            if not before_file.exists():
                return "failed", "the runner stopped before the job started: run it again", None
            before = {p: tuple(sig) for p, sig in json.loads(before_file.read_text()).items()}
            execution = await self.executor.recover(spec, on_line, shipper.seen)
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
                await checkout(
                    lease.repo, lease.sha, spec.workdir, self.workdir / "repos", lease.github_token
                )
            except CheckoutError as exc:
                return "failed", f"checkout failed: {exc}", None
            try:  # only from the site's records and store, only into the job's folder
                inputs, hidden = await asyncio.to_thread(self._bring_needs, lease, spec.workdir)
            except PathEscape as exc:
                return "failed", f"not started: {exc}", None
            if notebook:  # the parameters against the notebook as checked out
                try:
                    notes = await asyncio.to_thread(
                        check_checkout, spec.workdir, spec.args[0], lease.parameters
                    )
                except NotebookError as exc:
                    return "failed", f"not started: {exc}", None
                for note in notes:
                    shipper.add(f"jupyter-ext: {note}")
            before = files_of(spec.workdir)
            spec.scratch.mkdir(parents=True, exist_ok=True)
            given = start_record(inputs, lease.datasets, hidden)
            (spec.scratch / "given.json").write_text(json.dumps(given))
            before_file.write_text(json.dumps(before))
            stop = functools.partial(self.executor.cancel, lease.identifier)
            async with self.folders.watched(lease.identifier, stop):
                execution = await self.executor.run(spec, on_line)
        if usage := await self._usage(spec, before, execution):
            self.measured[lease.identifier] = usage
        if self.folders.full(lease.identifier):
            return "failed", over_quota(self.folders.limit_mb), execution.exit_code
        if execution.cancelled:
            return "cancelled", "", execution.exit_code
        if notebook and execution.exit_code in (1, 2) and on_line.said:  # its last words
            said = failure_message(on_line.said, self.log_policy, self.sends_job_text)
            return "failed", said, execution.exit_code if self.sends_job_text else None
        if execution.exit_code != 0:
            if not self.sends_job_text and execution.exit_code is not None:
                return "failed", "the action failed: its exit code and log stay on the site", None
            return "failed", execution.message, execution.exit_code
        return await self._collect(lease, spec, before, execution.provenance)

    async def _usage(self, spec: JobSpec, before: dict, execution) -> schema.JobUsage | None:
        """What the job used: its engine's figures and the bytes it left in its folder (see
        runner/usage.py), as much of it as the backend's log policy lets leave the site; None
        for a job that never ran (its engine refused it, or lost it)."""
        if execution.usage is None:
            return None
        try:
            written = bytes_written(before, await asyncio.to_thread(files_of, spec.workdir))
        except OSError:
            written = None
        return shareable(with_written(execution.usage, written), self.sends_job_text)

    @property
    def cache(self) -> Path:
        return self.workdir / "cache"

    async def _collect(self, lease, spec: JobSpec, before: dict, facts: dict):
        """Match what the job made against its declared outputs; keep them on the site."""
        job_dir = spec.workdir
        matched = await asyncio.to_thread(made_and_declared, job_dir, before, lease.outputs)
        if matched.missing:
            if not self.sends_job_text:  # which ones the job left out is its choice
                return "failed", "declared outputs were not produced", 0
            names = ", ".join(pattern for _, _, pattern in matched.missing)
            return "failed", f"declared outputs were not produced: {names}", 0
        levels = {path: level for path, (level, _, _) in matched.matched.items()}
        quota, named, most = self.outputs_quota, self.sends_job_text, self.max_outputs
        try:
            kept = await asyncio.to_thread(
                take_outputs, job_dir, sorted(levels), self.store, quota, named, most
            )
        except OutputRefused as exc:
            return "failed", str(exc), 0
        outputs = [
            schema.Output(path=path, size=size, sha256=sha, privacy_level=levels[path])
            for path, (sha, size) in kept.items()
        ]
        outputs = await asyncio.to_thread(self._checked, outputs)
        provenance = await asyncio.to_thread(self._provenance, lease, spec, facts, outputs)
        await self.api.outputs(lease.identifier, self._report_of(outputs, provenance, spec))
        await asyncio.to_thread(self._keep, lease, outputs)
        if provenance is not None:
            write_site_record(self.workdir / "provenance", lease, provenance)
        if not self.sends_job_text:  # how many files matched a pattern is the job's choice
            return "succeeded", "its outputs are kept on the site", 0
        if matched.undeclared:
            stayed = f"{len(matched.undeclared)} undeclared files stayed"
            return "succeeded", f"{len(outputs)} outputs; {stayed}", 0
        return "succeeded", f"{len(outputs)} outputs", 0

    def _report_of(self, outputs, provenance, spec: JobSpec) -> schema.OutputsReport:
        """What the job server is told of the outputs: all of them, or, on a backend that sends
        no job-chosen text, only the moderately sensitive ones (which exist to be reviewed)."""
        if self.sends_job_text:
            return schema.OutputsReport(outputs=outputs, provenance=provenance)
        level = schema.PrivacyLevel.MODERATELY_SENSITIVE
        shown = [o for o in outputs if o.privacy_level == level]
        if provenance is not None:
            paths = {o.path for o in shown}
            hidden = set(json.loads((spec.scratch / "given.json").read_text()).get("hidden", []))
            outputs_shown = [o for o in provenance.outputs if o.path in paths]
            inputs_shown = [i for i in provenance.inputs if i.path not in hidden]
            update = {"outputs": outputs_shown, "inputs": inputs_shown}
            provenance = provenance.model_copy(update=update)
        return schema.OutputsReport(outputs=shown, provenance=provenance)

    def _provenance(self, lease, spec: JobSpec, facts: dict, outputs) -> schema.Provenance | None:
        """What made the outputs; a job is never failed for want of it (it is logged)."""
        try:
            given = json.loads((spec.scratch / "given.json").read_text())
            return build(
                lease,
                self.executor.name,
                facts,
                given,
                outputs,
                spec.env.get("PATH", ""),
                self.cache,
            )
        except Exception:
            log.exception("the provenance of job %s could not be recorded", lease.identifier)
            return None

    def _checked(self, outputs: list[schema.Output]) -> list[schema.Output]:
        """The rules over each moderately sensitive output (the only kind a release may ask
        for), so that its author sees what to fix before any checker is asked: over the bytes
        kept in the store, never the job's file."""
        level = schema.PrivacyLevel.MODERATELY_SENSITIVE
        rules = self.release_rules
        return [
            o.model_copy(update={"check": check_file(self.store.path(o.sha256), rules, o.path)})
            if o.privacy_level == level
            else o
            for o in outputs
        ]

    def _bring_needs(self, lease, job_dir: Path) -> tuple[list[schema.FileDigest], list[str]]:
        """The outputs of the actions it needs, from earlier jobs of this workspace here: which
        job made them from the site's records, their bytes from the store (each checked against
        its recorded sha256), each put in the job's folder through the one join (a link in the
        checkout that leads out is refused). Returns them and the highly sensitive ones."""
        inputs, hidden = [], []
        for action in lease.needs:
            job, outputs, secret = read_record(self.records, lease.workspace, action)
            for path, sha in sorted(outputs.items()):
                target = inside(job_dir, path)
                what = f"the output {path} of {action}"
                if not self.store.path(sha).is_file():
                    raise PathEscape(f"{what} is no longer on this site: run {action} again")
                target.parent.mkdir(parents=True, exist_ok=True)
                if self.store.copy_out(sha, target) != sha:
                    raise PathEscape(f"{what} changed in the site's store: run {action} again")
                inputs.append(schema.FileDigest(path=path, sha256=sha, job=job))
                if path in secret:
                    hidden.append(path)
        return inputs, hidden

    def _keep(self, lease, outputs: list[schema.Output]) -> None:
        """The workspace folder's copy of each output: a hard link to its bytes in the store
        (one copy on disk), put through the one join. Which job made them goes to the site's
        records, which no job and no output's copy can reach."""
        space = inside(self.workdir / "workspaces", lease.workspace)
        for output in outputs:
            target = inside(space, output.path)
            target.parent.mkdir(parents=True, exist_ok=True)
            self.store.place(output.sha256, target)
        highly = schema.PrivacyLevel.HIGHLY_SENSITIVE
        hidden = [o.path for o in outputs if o.privacy_level == highly]
        made = {o.path: o.sha256 for o in outputs}
        write_record(self.records, lease.workspace, lease.action, lease.identifier, made, hidden)
