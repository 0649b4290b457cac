"""Run actions as Slurm batch jobs: the executor for HPC sites.

Each job is one batch job, submitted with `sbatch` and named `jupyter-ext-<identifier>`. Its
batch script (in the job's scratch folder, never in its checkout) runs the `run:` image's
command with exactly the job's environment, in the job's checkout. The compute nodes must see
the runner's work folder at the same path (a shared file system): the checkout, the datasets'
links and the job's output file live there.

The job's output goes to `slurm.log` in its scratch folder; the executor tails that file and
hands on each complete line as it appears (a last line without a newline when the job ends),
and reads the job's state and exit code from `scontrol show job` (`slurm_client.py`). Because
both the job id (in `slurm_id`) and the output file are on disk, a restarted runner follows a
job on. The batch scripts are written by `slurm_script.py`.

Limits (what its action asked for, else the executor's defaults: `Executor.applied`) go to
Slurm (--cpus-per-task, whole CPUs, --mem, --time in whole minutes) and to the sandbox's
cgroups (a fraction of a CPU as a CFS quota), and the executor also stops a job itself
(scancel, by the base's time limit) once it has run its time limit in seconds, counted from
its start, not from its submission: a job may wait in the queue. A cancel is a
`scancel`: Slurm sends SIGTERM and, after the cluster's KillWait, SIGKILL.

What a job used: the notes the sandbox's batch script leaves (`sandbox.py`: its start and end,
its cgroups' CPU time and memory peak), else `sacct` where the cluster keeps accounting, else
the run time `scontrol` says (whole seconds) alone: an unsandboxed job on a cluster without
accounting has no CPU or memory figures. See `runner/usage.py`.

Isolation (`job_user`, default `nobody`): the batch script sandboxes the job before it runs,
as `sandbox.py` says: the job's own cgroups (memory, processes, CPU, at the limits the Docker
executor would give it), no network, a root of its own in which it sees the system's folders
read-only, its folder and its leased datasets and nothing else of the site, as an
unprivileged user with no capabilities. The runner must be root (it is the user the batch
script runs as); `job_user = ""` runs jobs as the runner's user with none of this, and the
health report says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import pwd
import re
import sys
from collections.abc import Callable

from traitlets import Dict, Float, Integer, List, Unicode

from ...schema import JobResources
from ..lines import Tail
from ..notebooks import NOTEBOOK_MAIN
from ..resources import limits_words
from ..usage import job_usage
from .base import Execution, Executor, Job, hand_over, timed_out
from .sandbox import OOM, REFUSED, ROOT, SANDBOX, USAGE, Sandbox
from .slurm_client import (
    ENDED,
    JOB_NAME,
    RUNNING,
    SlurmError,
    accounting,
    cluster_info,
    exit_code,
    find_job,
    run_seconds,
    sbatch,
    scancel,
    show_job,
    slurm,
)
from .slurm_script import (
    JOB_ID,
    MISSING,
    OUTPUT,
    SCRIPT,
    STALE,
    plain_script,
    sandboxed_scripts,
)

log = logging.getLogger(__name__)

_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # a job's, as paths and names hold it
SYSTEM = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"]


class SlurmExecutor(Executor):
    name = "slurm"

    partition = Unicode("", help="The Slurm partition of jobs ('' = the cluster's default).").tag(
        config=True
    )
    slurm_conf = Unicode(
        "", help="The slurm.conf the client commands use ('' = the environment's SLURM_CONF)."
    ).tag(config=True)
    commands = Dict(
        help="""What each `run:` image runs on the compute nodes: {image: [program, ...]}. The
        action's arguments follow. Example: c.SlurmExecutor.commands = {"python":
        ["/opt/python3.11/bin/python3"]}"""
    ).tag(config=True)
    poll_interval = Float(
        0.2, help="Seconds between two looks at a job's output file and its state."
    ).tag(config=True)
    lost_after = Float(
        300, help="Seconds Slurm may fail to answer about a running job before it is given up."
    ).tag(config=True)
    job_user = Unicode(
        "nobody",
        help="""The unprivileged user jobs run as, in their sandbox (no network, their own
        root, cgroup limits): a name or uid known on the runner's host and the nodes alike.
        The runner must be root. '' runs jobs as the runner's user, unisolated.""",
    ).tag(config=True)
    pids_limit = Integer(512, help="Processes a job may have at once.").tag(config=True)
    tmp_mb = Integer(1024, help="Size of the job's /tmp and /dev/shm (in memory), in MB.").tag(
        config=True
    )
    visible_paths = List(
        Unicode(),
        help="""Folders a sandboxed job sees, read-only, at their own paths: the system's and
        where the commands are installed. Default: /usr, /bin, /sbin, /lib*, /etc and the
        runner's own Python (its prefix and base prefix). The notebook runner of `jupyter`
        actions (jupyter_ext/runner/notebook_main.py) is shown in any case.""",
    ).tag(config=True)

    def _default_commands(self) -> dict[str, list[str]]:
        return {
            "python": [sys.executable],
            "jupyter": [sys.executable, str(NOTEBOOK_MAIN)],  # this Python's nbclient, ipykernel
            "r": ["Rscript"],
            "stata-mp": ["stata-mp", "-b"],
        }

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cluster: dict | None = None

    def program(self, image: str) -> list[str] | None:
        return (self.commands or self._default_commands()).get(image)

    @property
    def isolates(self) -> bool:  # type: ignore[override]
        return bool(self.job_user)

    def _visible(self) -> list[str]:
        if self.visible_paths:
            shown = list(self.visible_paths)
        else:
            prefixes = {sys.prefix, sys.base_prefix}
            shown = SYSTEM + sorted(p for p in prefixes if not _under(p, SYSTEM))
        notebooks = str(NOTEBOOK_MAIN)  # the `jupyter` image's program: shown wherever it lies
        return shown if _under(notebooks, shown) else [*shown, notebooks]

    def _sandbox(self, given: JobResources) -> Sandbox | str:
        """The job's sandbox (its cgroups at `given`), or why there can be none."""
        try:
            entry = (
                pwd.getpwuid(int(self.job_user))
                if self.job_user.isdigit()
                else pwd.getpwnam(self.job_user)
            )
        except (KeyError, ValueError):
            return f"the job user {self.job_user!r} does not exist here: set SlurmExecutor.job_user"
        if entry.pw_uid == 0:
            return "SlurmExecutor.job_user must not be root: jobs would run unisolated"
        if os.geteuid() != 0:
            return (
                f"the Slurm executor sandboxes each job as {self.job_user}, which needs a "
                "runner running as root: run it as root, or set SlurmExecutor.job_user = '' "
                "to run jobs unisolated as the runner's user"
            )
        return Sandbox(
            entry.pw_uid,
            entry.pw_gid,
            given.cpus,
            given.memory_mb,
            self.pids_limit,
            self.tmp_mb,
            self._visible(),
        )

    # -- the engine's hooks ----------------------------------------------------------------------

    async def _start(self, job: Job) -> Execution | None:
        spec = job.spec
        program = self.program(spec.image)
        if not program:
            return Execution(
                None,
                f"the image {spec.image!r} has no command on this Slurm site: "
                "set SlurmExecutor.commands",
            )
        if not _IDENTIFIER.fullmatch(spec.identifier):
            return Execution(None, "the job's identifier is not one this executor can use")
        given = self.applied(spec)  # what its action asked for, else the defaults
        box = self._sandbox(given) if self.job_user else None
        if isinstance(box, str):
            return Execution(None, box, provenance={"executor": self.name})
        if "%" in str(spec.scratch):
            return Execution(
                None,
                f"the runner's folder {spec.scratch} has a '%' in its path, "
                "which Slurm reads as a pattern in --output: move it",
            )
        spec.scratch.mkdir(parents=True, exist_ok=True)
        for stale in STALE:
            (spec.scratch / stale).unlink(missing_ok=True)
        script = spec.scratch / SCRIPT
        if box is None:
            script.write_text(plain_script(spec, program))
        else:
            batch, sandbox = sandboxed_scripts(spec, program, box)
            script.write_text(batch)
            (spec.scratch / SANDBOX).write_text(sandbox)
            (spec.scratch / ROOT).mkdir(mode=0o700, exist_ok=True)
            hand_over(spec.workdir, box.uid, box.gid)
        script.chmod(0o700)
        try:
            job_id = await sbatch(self._env(), *self._sbatch_args(spec, given), str(script))
        except SlurmError as exc:
            return Execution(None, str(exc), provenance={"executor": self.name})
        (spec.scratch / JOB_ID).write_text(job_id)
        job.handle = Followed(job_id)
        return None

    async def _find(self, job: Job) -> Execution | None:
        """Find the job an earlier runner submitted, by its id on disk or else its name."""
        job_id = None
        with contextlib.suppress(OSError):
            job_id = (job.spec.scratch / JOB_ID).read_text().strip() or None
        try:
            if job_id is None:  # the runner stopped between sbatch and writing down the id
                job_id = await find_job(self._env(), job.spec.identifier)
        except SlurmError as exc:
            return Execution(None, f"the job cannot be followed on: {exc}")
        if job_id is None:
            return Execution(
                None,
                "the runner restarted and Slurm knows no job of this name: "
                "it was never submitted or ended long ago; run the action again",
            )
        job.handle = Followed(job_id)
        return None

    async def _ran(self, job: Job) -> float:
        return await job.handle.ran

    async def _stop(self, job: Job) -> None:
        """scancel it: Slurm sends SIGTERM and, after the cluster's KillWait, SIGKILL."""
        await scancel(self._env(), job.handle.job_id)
        job.handle.wake()  # its end is seen at once

    async def _stop_unfollowed(self, identifier: str) -> None:
        with contextlib.suppress(SlurmError):
            await slurm(self._env(), "scancel", "--name", JOB_NAME.format(identifier))

    async def _wait(self, job: Job, on_line: Callable[[str], None]) -> Execution:
        """Hand on the output file's new lines and watch the job's state until it ends."""
        followed, spec = job.handle, job.spec
        tail = Tail(spec.scratch / OUTPUT, max_bytes=self.line_max_bytes)
        loop = asyncio.get_running_loop()
        silent_since = None
        provenance = {"executor": self.name, "slurm_job": followed.job_id}
        if program := self.program(spec.image):
            provenance["interpreter"] = program[0]
        while True:
            tail.read(on_line)
            try:
                info = await show_job(self._env(), followed.job_id)
                silent_since = None
            except SlurmError as exc:
                silent_since = silent_since or loop.time()
                if loop.time() - silent_since > self.lost_after:
                    tail.read(on_line, final=True)
                    message = f"lost contact with Slurm about job {followed.job_id}: {exc}"
                    return Execution(None, message, provenance=provenance)
                log.warning("asking Slurm about job %s failed: %s", followed.job_id, exc)
                await followed.pause(self.poll_interval)
                continue
            if info is None:
                tail.read(on_line, final=True)
                return Execution(
                    None,
                    f"Slurm no longer knows job {followed.job_id}: it ended longer ago than the "
                    "cluster's MinJobAge, and its exit code is lost; run the action again",
                    provenance=provenance,
                )
            state = info.get("JobState", "")
            provenance.update(partition=info.get("Partition"), node=info.get("NodeList"))
            if state in ENDED:
                tail.read(on_line, final=True)
                execution = self._ended(spec, info, state, provenance)
                execution.usage = await self._usage(spec, info, followed.job_id)
                return execution
            if state in RUNNING and not followed.ran.done():  # the time limit starts
                followed.ran.set_result(run_seconds(info.get("RunTime", "")))
            await followed.pause(self.poll_interval)

    async def _usage(self, spec, info: dict, job_id: str):
        """What the job used: the batch script's notes, then accounting, then its run time."""
        notes = read_usage(spec.scratch / USAGE)
        if "cpu_seconds" in notes and "peak_memory_bytes" in notes:
            counted = {}  # the job's own cgroups said all: no need to ask accounting
        else:
            counted = await accounting(self._env(), job_id)
        figures = {**counted, **notes}
        wall = figures.get("wall_seconds", run_seconds(info.get("RunTime", "")))
        return job_usage(wall, figures.get("cpu_seconds"), figures.get("peak_memory_bytes"))

    def _ended(self, spec, info: dict, state: str, provenance: dict) -> Execution:
        """How an ended job ended, from Slurm's record and the notes left beside it."""
        code, signal = exit_code(info.get("ExitCode", ""))
        code_or_signal = -signal if signal else code
        with contextlib.suppress(OSError):
            why = (spec.scratch / REFUSED).read_text().strip()[:300]
            return Execution(
                None,
                f"the Slurm node {info.get('NodeList')} cannot isolate the job: {why}",
                provenance=provenance,
            )
        given = self.applied(spec)
        if (spec.scratch / OOM).exists():
            message = f"stopped: it used more than its {given.memory_mb} MB of memory"
            return Execution(code_or_signal, message, provenance=provenance)
        if state in ("TIMEOUT", "DEADLINE"):
            return Execution(
                None, timed_out(given.time_limit), timed_out=True, provenance=provenance
            )
        if (spec.scratch / MISSING).exists():
            program = self.program(spec.image) or ["?"]
            return Execution(
                None,
                f"the command {program[0]!r} of the image {spec.image!r} is not on the Slurm "
                f"node {info.get('NodeList')}: set SlurmExecutor.commands",
                provenance=provenance,
            )
        if state == "COMPLETED":
            return Execution(0, "", provenance=provenance)
        if state == "OUT_OF_MEMORY":
            return Execution(
                code_or_signal,
                f"stopped: it used more than its {given.memory_mb} MB of memory",
                provenance=provenance,
            )
        if state == "FAILED":
            message = f"killed by signal {signal}" if signal else f"exit code {code}"
            return Execution(code_or_signal, message, provenance=provenance)
        reason = info.get("Reason", "")
        because = f" ({reason})" if reason and reason != "None" else ""
        return Execution(None, f"Slurm ended the job: {state}{because}", provenance=provenance)

    def _sbatch_args(self, spec, given: JobResources) -> list[str]:
        args = [
            "--job-name",
            JOB_NAME.format(spec.identifier),
            "--chdir",
            str(spec.workdir),
            "--output",
            str(spec.scratch / OUTPUT),
            "--export=NONE",
            "--no-requeue",
            "--ntasks=1",
            f"--cpus-per-task={max(1, math.ceil(given.cpus))}",
            f"--time={max(1, math.ceil(given.time_limit / 60))}",
        ]
        if given.memory_mb:  # None: the partition's default (clusters that do not count memory)
            args.append(f"--mem={given.memory_mb}")
        if self.partition:
            args.append(f"--partition={self.partition}")
        return args

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.slurm_conf:
            env["SLURM_CONF"] = self.slurm_conf
        return env

    # -- what the health report says -------------------------------------------------------------

    def describe(self) -> dict:
        """The partition and the cluster; asks Slurm once (briefly blocking), then remembers."""
        if self.cluster is None:
            self.cluster = cluster_info(self._env(), self.partition)
        return {
            **super().describe(),
            "partition": self.partition or "(default)",
            **self.cluster,
            "isolation": self._isolation(),
        }

    def _isolation(self) -> str:
        if not self.job_user:
            return (
                "none: Slurm batch jobs run as the runner's user, with Slurm's own limits "
                f"only ({limits_words(self.resource_limits())}); they read all that user can "
                "and reach the network"
            )
        return (
            f"each job in a sandbox on its node: user {self.job_user} with no capabilities, "
            "no network, a root of its own (the system read-only, its folder, its leased "
            "datasets read-only), cgroups of the CPUs, memory and time its action asked for "
            f"within this backend's maximums ({limits_words(self.resource_limits())}), "
            f"{self.pids_limit} processes"
        )

    def health(self) -> str:
        if not self.job_user:
            return "slurm (no isolation: a job reads all the runner's user can)"
        return "slurm (isolated: own user, root, cgroups; no network)"


def read_usage(path) -> dict:
    """The batch script's notes of what the job used ({} without them: unsandboxed, or killed
    before it could write them); a figure it could not read is left out."""
    try:
        notes = dict(line.partition(" ")[::2] for line in path.read_text().splitlines())
    except (OSError, ValueError):
        return {}
    found = {}
    with contextlib.suppress(KeyError, ValueError):
        found["wall_seconds"] = float(notes["ended"]) - float(notes["started"])
    with contextlib.suppress(KeyError, ValueError):
        found["cpu_seconds"] = int(notes["cpu_ns"]) / 1e9
    with contextlib.suppress(KeyError, ValueError):
        found["peak_memory_bytes"] = int(notes["peak_bytes"])
    return found


def _under(path: str, folders: list[str]) -> bool:
    return any(path == f or path.startswith(f.rstrip("/") + "/") for f in folders)


class Followed:
    """A Slurm job this executor follows: its id, when it began to run, its wake-up call."""

    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        self.ran = asyncio.get_running_loop().create_future()  # its run time when first seen
        self.waker = asyncio.Event()

    async def pause(self, seconds: float) -> None:
        """Wait `seconds`, or less when a stop wants the job's end seen at once."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.waker.wait(), seconds)
        self.waker.clear()

    def wake(self) -> None:
        self.waker.set()
