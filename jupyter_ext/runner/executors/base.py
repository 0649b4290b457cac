"""The executor contract: small, so a Kubernetes executor can be added without the rest.

An executor runs one job (a `JobSpec`): the command of its `run:` image with
the job's checkout as its working directory and the backend's datasets beside
it, read-only. It hands each line the job prints to `on_line` as it comes,
stops the job when asked or when it outlives its time limit, and says how it
ended (`Execution`).

Limits: a job runs with the CPUs, memory and time limit its action asked for
(`spec.resources`, from resources.yaml beside project.yaml) or else the executor's
defaults (the traits `cpus`, `memory_mb`, `time_limit`): `applied(spec)` says which,
and an engine applies those, never the traits themselves. An action may ask for up to
the maximums (`max_cpus`, `max_memory_mb`, `max_time_limit`; 0: the default's), which
the runner reports with its heartbeat (`resource_limits()`); a spec that asks for more
is refused before `_start`, as the runner refused its lease (`runner/resources.py`).

What every executor does is written once, here (a template method):
- `run(spec, on_line)`: start the job and follow it to its end;
- `recover(spec, on_line, seen)`: follow on a job that an earlier runner
  process started and lost (killed, restarted), skipping the `seen` lines it
  already handed on; an engine that cannot find it again says so;
- `cancel(identifier)`: stop it within a second; `run`/`recover` then return
  an `Execution` with `cancelled` set;
- the time limit: the job's applied `time_limit` seconds after the job began to run (not while it
  waits in a queue, and counted from its start for a recovered job) it is stopped,
  and `run`/`recover` return an `Execution` with `timed_out` set.
Why a job was stopped is written beside it (`<scratch>/stopped`), so a restarted
runner still says "cancelled" or "timed out".

An engine writes its own hooks, each given the `Job` being followed:
- `_start(job)`: start `job.spec`, set `job.handle` (a process, a container, a
  Slurm job id); or return an `Execution` saying why it could not;
- `_find(job)`: set `job.handle` to the job an earlier runner started; or return
  an `Execution` saying why not (the default: this engine cannot follow on);
- `_wait(job, on_line)`: hand on each line and return once the job has ended,
  with the engine's view of how (exit code, message, provenance) and what it used
  (`usage`: see `runner/usage.py`; without one, the base measures the wall time alone);
- `_ran(job)`: wait until the job runs; the seconds it has run already;
- `_stop(job)`: stop it (SIGTERM, then SIGKILL), promptly: `_wait` then returns;
- `_stop_unfollowed(identifier)`: stop a job this executor does not follow;
- `describe()`: what the health report says about it (`health()` is the short form the
  runner's heartbeat carries to `GET /api/v1/backends/{slug}`).

A site adds an executor as a package of its own: a subclass of `Executor` registered
in the entry-point group `jupyter_ext.executors` (see `executors/plugins.py`).

Datasets: `spec.datasets` holds exactly the dataset versions the job was leased (checked
against their manifests by the runner); an executor gives the job those and no other, at
`$JUPYTER_EXT_DATASETS/<name>` (in a container `/datasets/<name>`), read-only.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pydantic
from traitlets import Float, Integer
from traitlets.config import LoggingConfigurable

from ...schema import JobResources, ResourceLimits
from ...schema.usage import JobUsage
from ..lines import MAX_LINE_BYTES
from ..resources import limits_words, over_limits
from ..usage import job_usage

LABEL = "jupyter-ext.job"  # names the job on an engine (container label, Slurm job name)
STOPPED = "stopped"  # in the job's scratch folder: why the executor stopped it
CANCELLED, TIMED_OUT = "cancelled", "timed out"
FIGURES = ("cpus", "memory_mb", "time_limit")  # each a trait, its max_ trait, a JobResources field
STOPPED_LOG_WAIT = 30.0  # seconds to read what a stopped job still has to say


@dataclass
class JobSpec:
    """One job as an executor sees it."""

    identifier: str
    image: str  # the `run:` image without its version: python, r, ...
    args: list[str]  # the action's arguments, after the image
    workdir: Path  # the job's checkout: its working directory, the only place it writes
    env: dict[str, str]
    datasets: dict[str, Path] = field(default_factory=dict)  # name -> folder, read-only
    scratch: Path = Path()  # the executor's own files of this job (pid, script), off the checkout
    labels: dict[str, str] = field(default_factory=dict)  # workspace, action: for people
    resources: JobResources | None = None  # what its action asked for; None: the defaults


@dataclass
class Execution:
    """How a job ended: its exit code, or why it never had one."""

    exit_code: int | None
    message: str = ""
    cancelled: bool = False
    timed_out: bool = False
    provenance: dict = field(default_factory=dict)  # interpreter, image digest, ...
    usage: JobUsage | None = None  # what it used, as the engine measured it


@dataclass
class Job:
    """A job an executor follows: its spec, the engine's handle on it, why it is stopped."""

    spec: JobSpec
    handle: Any = None  # the engine's: set by `_start` or `_find`
    stopping: str = ""  # CANCELLED or TIMED_OUT once the executor stops it
    provenance: dict = field(default_factory=dict)  # what the engine says of how it ran


class Executor(LoggingConfigurable):
    """Base of executors; see the module's docstring for the contract."""

    name = "base"
    isolates = False  # whether a job is kept from what it was not given

    time_limit = Float(
        3600 * 6,
        help="""Seconds a job may run before it is stopped, unless its action asks for another
        limit (resources.yaml, up to `max_time_limit`).""",
    ).tag(config=True)
    cpus = Float(
        1.0,
        help="""CPUs a job may use, unless its action asks for another number (up to
        `max_cpus`).""",
    ).tag(config=True)
    memory_mb = Integer(
        4096,
        help="""Memory a job may use, in MB, unless its action asks for another amount (up to
        `max_memory_mb`). 0: the executor sets none (Slurm: the partition's default).""",
    ).tag(config=True)
    max_time_limit = Float(
        0,
        help="""The longest time limit an action may ask for, in seconds; a lease asking
        for more is refused before anything runs. 0 (the default): `time_limit`, so an action
        may ask for less but not more. Example: c.DockerExecutor.max_time_limit = 86400""",
    ).tag(config=True)
    max_cpus = Float(
        0,
        help="""The most CPUs an action may ask for; a lease asking for more is refused
        before anything runs. 0 (the default): `cpus`. Example: c.SlurmExecutor.max_cpus = 8""",
    ).tag(config=True)
    max_memory_mb = Integer(
        0,
        help="""The most memory an action may ask for, in MB; a lease asking for more is
        refused before anything runs. 0 (the default): `memory_mb`. Example:
        c.DockerExecutor.max_memory_mb = 16384""",
    ).tag(config=True)
    line_max_bytes = MAX_LINE_BYTES  # a log line's bytes kept (c.RunnerApp.log_line_max_bytes)

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.jobs: dict[str, Job] = {}  # the jobs this executor follows, by identifier
        self._check_limits()

    # -- what a job may ask for, and what it gets ------------------------------------------------

    def resource_limits(self) -> ResourceLimits:
        """What a job gets unasked, and the most an action may ask for (reported with each
        heartbeat). A maximum of 0 is the default's; a memory_mb of 0 is no limit at all."""
        memory = self.memory_mb or None
        return ResourceLimits(
            default=JobResources(cpus=self.cpus, memory_mb=memory, time_limit=self.time_limit),
            maximum=JobResources(
                cpus=self.max_cpus or self.cpus,
                memory_mb=self.max_memory_mb or memory,
                time_limit=self.max_time_limit or self.time_limit,
            ),
        )

    def applied(self, spec: JobSpec) -> JobResources:
        """What the job runs with: what its action asked for, else this executor's defaults
        (`memory_mb` None: no memory limit)."""
        return self.resource_limits().applied(spec.resources)

    def _check_limits(self) -> None:
        """Limits that cannot hold stop the executor, saying which trait to fix."""
        name = type(self).__name__
        for figure in FIGURES:
            for trait in (figure, f"max_{figure}"):
                value = getattr(self, trait)
                if not value and (trait != figure or figure == "memory_mb"):  # 0: see the help
                    continue
                try:
                    JobResources(**{figure: value})
                except pydantic.ValidationError as exc:
                    why = exc.errors()[0]["msg"].lower()
                    raise ValueError(f"c.{name}.{trait} = {value!r} cannot be: {why}") from None
        default = self.resource_limits().default
        for figure in FIGURES:
            most, unasked = getattr(self, f"max_{figure}"), getattr(default, figure)
            if most and (unasked is None or most < unasked):
                none = "" if unasked else ": no limit"
                trait = f"c.{name}.{figure} ({getattr(self, figure):g}{none})"
                raise ValueError(
                    f"c.{name}.max_{figure} ({most:g}) is below {trait}, what a job gets "
                    "unasked: raise it, or set it to 0 to let actions ask for no more than that"
                )

    # -- the template: not to be overridden ------------------------------------------------------

    async def run(self, spec: JobSpec, on_line: Callable[[str], None]) -> Execution:
        job = self.jobs[spec.identifier] = Job(spec)
        if spec.scratch != Path():  # a spec without a scratch folder has no note to keep
            (spec.scratch / STOPPED).unlink(missing_ok=True)
        try:  # the runner refused its lease already: this holds the line for any other caller
            if too_much := over_limits(self.resource_limits(), spec.resources):
                return Execution(None, too_much)
            refused = await self._start(job)
            if refused is not None:
                return refused
            if job.stopping:  # cancelled while it started
                await self._stop(job)
            return await self._follow(job, on_line)
        finally:
            self.jobs.pop(spec.identifier, None)

    async def recover(self, spec: JobSpec, on_line: Callable[[str], None], seen: int) -> Execution:
        job = self.jobs[spec.identifier] = Job(spec, stopping=_stopped(spec))
        try:
            lost = await self._find(job)
            if lost is not None:
                return lost
            if job.stopping:  # the earlier runner may have stopped before it stopped the job
                await self._stop(job)
            return await self._follow(job, skipping(on_line, seen))
        finally:
            self.jobs.pop(spec.identifier, None)

    async def cancel(self, identifier: str) -> None:
        job = self.jobs.get(identifier)
        if job is None:  # not ours to follow: the engine may stop it all the same
            await self._stop_unfollowed(identifier)
            return
        await self._halt(job, CANCELLED)

    async def _follow(self, job: Job, on_line: Callable[[str], None]) -> Execution:
        """Wait for the job's end while the time limit runs; then say how it ended."""
        limit = asyncio.create_task(self._time_limit(job))
        began = asyncio.get_running_loop().time()
        try:
            execution = await self._wait(job, on_line)
        finally:
            limit.cancel()
        if execution.usage is None:  # the engine knows nothing more: the wall time at least
            execution.usage = job_usage(asyncio.get_running_loop().time() - began)
        provenance, usage = execution.provenance, execution.usage
        if job.stopping == CANCELLED:
            return Execution(
                execution.exit_code,
                "cancelled",
                cancelled=True,
                provenance=provenance,
                usage=usage,
            )
        if job.stopping == TIMED_OUT:
            limit = self.applied(job.spec).time_limit
            return Execution(
                None, timed_out(limit), timed_out=True, provenance=provenance, usage=usage
            )
        return execution

    async def _time_limit(self, job: Job) -> None:
        ran = await self._ran(job)
        await asyncio.sleep(max(0.0, self.applied(job.spec).time_limit - ran))
        await self._halt(job, TIMED_OUT)

    async def _halt(self, job: Job, why: str) -> None:
        """Stop the job, noting why beside it first (so a restarted runner knows too)."""
        if job.stopping:
            return
        job.stopping = why
        with contextlib.suppress(OSError):
            if job.spec.scratch != Path():
                (job.spec.scratch / STOPPED).write_text(why)
        if job.handle is not None:  # else `run` stops it as soon as it has started
            await self._stop(job)

    # -- the engine's hooks ----------------------------------------------------------------------

    async def _start(self, job: Job) -> Execution | None:
        raise NotImplementedError

    async def _find(self, job: Job) -> Execution | None:
        return Execution(
            None, f"the runner restarted and the {self.name} executor cannot follow a job on"
        )

    async def _wait(self, job: Job, on_line: Callable[[str], None]) -> Execution:
        raise NotImplementedError

    async def _ran(self, job: Job) -> float:
        return 0.0

    async def _stop(self, job: Job) -> None:
        raise NotImplementedError

    async def _stop_unfollowed(self, identifier: str) -> None:
        return None

    # -- what the health report says -------------------------------------------------------------

    def describe(self) -> dict:
        return {
            "executor": self.name,
            "isolates": self.isolates,
            "resources": limits_words(self.resource_limits()),
        }

    def health(self) -> str:
        """The executor as the backend's health report names it (64 characters at most)."""
        return self.name


async def rest_of_log(job: Job, lines: asyncio.Task) -> None:
    """The lines a job printed to its end: all of them when it ended by itself, however long
    that takes; at most `STOPPED_LOG_WAIT` seconds of them when the executor stopped it."""
    if job.stopping:
        await asyncio.wait([lines], timeout=STOPPED_LOG_WAIT)
    else:
        await lines


def skipping(on_line: Callable[[str], None], seen: int) -> Callable[[str], None]:
    """`on_line` for all but the first `seen` lines (handed on before a restart)."""
    left = seen

    def hand_on(line: str) -> None:
        nonlocal left
        if left > 0:
            left -= 1
            return
        on_line(line)

    return hand_on


def _stopped(spec: JobSpec) -> str:
    """Why an earlier runner stopped the job ('' if it did not)."""
    if spec.scratch == Path():
        return ""
    with contextlib.suppress(OSError):
        return (spec.scratch / STOPPED).read_text().strip()
    return ""


def timed_out(limit: float) -> str:
    return f"stopped: it ran longer than its limit of {limit:g} s"


def hand_over(folder: Path, uid: int, gid: int) -> None:
    """Give the job's folder (and all in it) to the job's user, for executors that run jobs
    as another user than the runner's."""
    for parent, dirs, files in os.walk(folder):
        os.chown(parent, uid, gid)
        for name in dirs + files:
            os.chown(os.path.join(parent, name), uid, gid, follow_symlinks=False)


def link_datasets(spec: JobSpec) -> Path:
    """A folder of links to the job's datasets, for executors that share the site's file
    system. Only the leased ones are linked, but nothing stops a job from opening any path
    the runner's user can read: read-only and "only these" are enforced by the Docker
    executor alone."""
    folder = spec.scratch / "datasets"
    folder.mkdir(parents=True, exist_ok=True)
    for name, path in spec.datasets.items():
        link = folder / name
        if not link.is_symlink():
            link.symlink_to(path)
    return folder
