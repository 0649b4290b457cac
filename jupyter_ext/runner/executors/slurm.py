"""Run actions as Slurm batch jobs: the executor for HPC sites.

Each job is one batch job, submitted with `sbatch` and named `jupyter-ext-<identifier>`. Its
batch script (in the job's scratch folder, never in its checkout) runs the `run:` image's
command with exactly the job's environment, in the job's checkout. The compute nodes must see
the runner's work folder at the same path (a shared file system): the checkout, the datasets'
links and the job's output file live there.

The job's output goes to `slurm.log` in its scratch folder; the executor tails that file and
hands on each complete line as it appears (a last line without a newline when the job ends),
and reads the job's state and exit code from `scontrol show job` (no `sacct`: a site need not
run accounting; a finished job stays visible for slurmctld's MinJobAge). Because both the job
id (in `slurm_id`) and the output file are on disk, a restarted runner follows a job on.

Limits go to Slurm (--cpus-per-task, --mem, --time in whole minutes), and the executor also
stops a job itself (scancel) once it has run `time_limit` seconds, counted from its start, not
from its submission: a job may wait in the queue. A cancel is a `scancel`: Slurm sends SIGTERM
and, after the cluster's KillWait, SIGKILL.

Isolation (`job_user`, default `nobody`): the batch script sandboxes the job before it runs,
as `sandbox.py` says: the job's own cgroups (memory, processes, CPU, at the limits the Docker
executor has), no network, a root of its own in which it sees the system's folders read-only,
its folder and its leased datasets and nothing else of the site, as an unprivileged user
with no capabilities. The runner must be root (it is the user the batch script runs as);
`job_user = ""` runs jobs as the runner's user with none of this, and the health report says
so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import os
import pwd
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from traitlets import Dict, Float, Integer, List, Unicode

from ..lines import MAX_LINE_BYTES, LineCutter
from .base import Execution, Executor, JobSpec, hand_over, link_datasets, timed_out
from .sandbox import OOM, REFUSED, ROOT, SANDBOX, Sandbox, batch_script

log = logging.getLogger(__name__)

JOB_NAME = "jupyter-ext-{}"
OUTPUT = "slurm.log"  # in the job's scratch folder
JOB_ID = "slurm_id"
SCRIPT = "job.sh"
MISSING = "command-missing"  # the batch script leaves it when the command is not on the node
STOPPED = "stopped"  # why the executor stopped the job: CANCELLED or TIMED_OUT
CANCELLED, TIMED_OUT = "cancelled", "timed out"
# Slurm's job states after which nothing runs any more (COMPLETING is not one of them).
ENDED = {
    "COMPLETED",
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "NODE_FAIL",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
    "OUT_OF_MEMORY",
    "SPECIAL_EXIT",
    "REVOKED",
}
# What Slurm tells a job about itself: passed on beside the job's own environment.
SLURM_VARS = (
    "SLURM_JOB_ID",
    "SLURM_CPUS_PER_TASK",
    "SLURM_CPUS_ON_NODE",
    "SLURM_MEM_PER_NODE",
    "SLURM_JOB_PARTITION",
    "SLURM_JOB_NODELIST",
    "SLURM_CLUSTER_NAME",
)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # an environment variable's name
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # a job's, as paths and names hold it
SYSTEM = ["/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc"]
_FIELD = re.compile(r"(?:^|\s)([A-Za-z][\w:/]*)=(\S*)")


class SlurmError(Exception):
    """A Slurm client command failed (not installed, or the controller did not answer)."""


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
        runner's own Python (its prefix and base prefix).""",
    ).tag(config=True)

    def _default_commands(self) -> dict[str, list[str]]:
        return {"python": [sys.executable], "r": ["Rscript"], "stata-mp": ["stata-mp", "-b"]}

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.jobs: dict[str, Followed] = {}  # the jobs this executor follows, by identifier
        self.cluster: dict | None = None

    def program(self, image: str) -> list[str] | None:
        return (self.commands or self._default_commands()).get(image)

    @property
    def isolates(self) -> bool:  # type: ignore[override]
        return bool(self.job_user)

    def _visible(self) -> list[str]:
        if self.visible_paths:
            return list(self.visible_paths)
        prefixes = {sys.prefix, sys.base_prefix}
        return SYSTEM + sorted(p for p in prefixes if not any(p.startswith(s) for s in SYSTEM))

    def _sandbox(self) -> Sandbox | str:
        """The job's sandbox, or why there can be none."""
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
            self.cpus,
            self.memory_mb,
            self.pids_limit,
            self.tmp_mb,
            self._visible(),
        )

    # -- the contract ----------------------------------------------------------------------------

    async def run(self, spec: JobSpec, on_line: Callable[[str], None]) -> Execution:
        program = self.program(spec.image)
        if not program:
            return Execution(
                None,
                f"the image {spec.image!r} has no command on this Slurm site: "
                "set SlurmExecutor.commands",
            )
        if not _IDENTIFIER.fullmatch(spec.identifier):
            return Execution(None, "the job's identifier is not one this executor can use")
        box = self._sandbox() if self.job_user else None
        if isinstance(box, str):
            return Execution(None, box, provenance={"executor": self.name})
        if "%" in str(spec.scratch):
            return Execution(
                None,
                f"the runner's folder {spec.scratch} has a '%' in its path, "
                "which Slurm reads as a pattern in --output: move it",
            )
        spec.scratch.mkdir(parents=True, exist_ok=True)
        for stale in (OUTPUT, JOB_ID, MISSING, STOPPED, OOM, REFUSED):
            (spec.scratch / stale).unlink(missing_ok=True)
        script = spec.scratch / SCRIPT
        if box is None:
            script.write_text(self._script(spec, program))
        else:
            batch, sandbox = self._sandboxed(spec, program, box)
            script.write_text(batch)
            (spec.scratch / SANDBOX).write_text(sandbox)
            (spec.scratch / ROOT).mkdir(mode=0o700, exist_ok=True)
            hand_over(spec.workdir, box.uid, box.gid)
        script.chmod(0o700)
        followed = self.jobs[spec.identifier] = Followed(spec.scratch)
        try:
            try:
                followed.job_id = await self._submit(spec, script)
            except SlurmError as exc:
                return Execution(None, str(exc), provenance={"executor": self.name})
            (spec.scratch / JOB_ID).write_text(followed.job_id)
            if followed.stopping:  # cancelled while sbatch ran
                await self._scancel(followed.job_id)
            return await self._follow(spec, followed, on_line, seen=0, program=program)
        finally:
            self.jobs.pop(spec.identifier, None)

    async def recover(self, spec: JobSpec, on_line: Callable[[str], None], seen: int) -> Execution:
        """Follow on a job an earlier runner submitted: the rest of its lines, then its end."""
        job_id = None
        with contextlib.suppress(OSError):
            job_id = (spec.scratch / JOB_ID).read_text().strip() or None
        try:
            if job_id is None:  # the runner stopped between sbatch and writing down the id
                job_id = await self._find(spec.identifier)
        except SlurmError as exc:
            return Execution(None, f"the job cannot be followed on: {exc}")
        if job_id is None:
            return Execution(
                None,
                "the runner restarted and Slurm knows no job of this name: "
                "it was never submitted or ended long ago; run the action again",
            )
        followed = self.jobs[spec.identifier] = Followed(spec.scratch, job_id)
        try:
            return await self._follow(spec, followed, on_line, seen, self.program(spec.image))
        finally:
            self.jobs.pop(spec.identifier, None)

    async def cancel(self, identifier: str) -> None:
        followed = self.jobs.get(identifier)
        if followed is None:  # not ours to follow: stop it by its name all the same
            with contextlib.suppress(SlurmError):
                await self._slurm("scancel", "--name", JOB_NAME.format(identifier))
            return
        await self._stop(followed, CANCELLED)

    def describe(self) -> dict:
        """The partition and the cluster; asks Slurm once (briefly blocking), then remembers."""
        if self.cluster is None:
            self.cluster = self._cluster_info()
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
                "only; they read all that user can and reach the network"
            )
        return (
            f"each job in a sandbox on its node: user {self.job_user} with no capabilities, "
            "no network, a root of its own (the system read-only, its folder, its leased "
            f"datasets read-only), cgroups of {self.cpus:g} CPUs, {self.memory_mb} MB, "
            f"{self.pids_limit} processes, stopped after {self.time_limit:g} s"
        )

    def health(self) -> str:
        if not self.job_user:
            return "slurm (no isolation: a job reads all the runner's user can)"
        return "slurm (isolated: own user, root, cgroups; no network)"

    # -- following a job -------------------------------------------------------------------------

    async def _follow(self, spec: JobSpec, followed: Followed, on_line, seen: int, program):
        """Hand on the output file's new lines and watch the job's state until it ends."""
        job_id = followed.job_id
        assert job_id is not None
        tail = Tail(spec.scratch / OUTPUT, skip=seen, max_bytes=self.line_max_bytes)
        loop = asyncio.get_running_loop()
        deadline = None  # loop time at which the job has run time_limit seconds
        silent_since = None
        provenance = {"executor": self.name, "slurm_job": job_id}
        if program:
            provenance["interpreter"] = program[0]
        while True:
            tail.read(on_line)
            try:
                info = await self._job(job_id)
                silent_since = None
            except SlurmError as exc:
                silent_since = silent_since or loop.time()
                if loop.time() - silent_since > self.lost_after:
                    tail.read(on_line, final=True)
                    return Execution(
                        None,
                        f"lost contact with Slurm about job {job_id}: {exc}",
                        provenance=provenance,
                    )
                log.warning("asking Slurm about job %s failed: %s", job_id, exc)
                await followed.pause(self.poll_interval)
                continue
            if info is None:
                tail.read(on_line, final=True)
                return Execution(
                    None,
                    f"Slurm no longer knows job {job_id}: it ended longer ago than the "
                    "cluster's MinJobAge, and its exit code is lost; run the action again",
                    provenance=provenance,
                )
            state = info.get("JobState", "")
            provenance.update(partition=info.get("Partition"), node=info.get("NodeList"))
            if state in ENDED:
                tail.read(on_line, final=True)
                return self._ended(spec, info, state, provenance)
            if deadline is None and state in ("RUNNING", "COMPLETING", "SUSPENDED"):
                deadline = loop.time() - _seconds(info.get("RunTime", "")) + self.time_limit
            if deadline is not None and loop.time() >= deadline and not followed.stopping:
                await self._stop(followed, TIMED_OUT)
                continue
            await followed.pause(self.poll_interval)

    async def _stop(self, followed: Followed, why: str) -> None:
        """scancel the job, noting why beside it first (so a restarted runner knows too)."""
        if followed.stopping:
            return
        followed.stopping = why
        with contextlib.suppress(OSError):
            (followed.scratch / STOPPED).write_text(why)
        if followed.job_id is not None:  # else run() cancels it as soon as sbatch says its id
            await self._scancel(followed.job_id)
        followed.wake()

    def _ended(self, spec: JobSpec, info: dict, state: str, provenance: dict) -> Execution:
        code, signal = _exit_code(info.get("ExitCode", ""))
        exit_code = -signal if signal else code
        stopped = ""
        with contextlib.suppress(OSError):
            stopped = (spec.scratch / STOPPED).read_text()
        if stopped == CANCELLED:
            return Execution(exit_code, "cancelled", cancelled=True, provenance=provenance)
        with contextlib.suppress(OSError):
            why = (spec.scratch / REFUSED).read_text().strip()[:300]
            return Execution(
                None,
                f"the Slurm node {info.get('NodeList')} cannot isolate the job: {why}",
                provenance=provenance,
            )
        if (spec.scratch / OOM).exists():
            message = f"stopped: it used more than its {self.memory_mb} MB of memory"
            return Execution(exit_code, message, provenance=provenance)
        if stopped == TIMED_OUT or state in ("TIMEOUT", "DEADLINE"):
            return Execution(
                None, timed_out(self.time_limit), timed_out=True, provenance=provenance
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
                exit_code,
                f"stopped: it used more than its {self.memory_mb} MB of memory",
                provenance=provenance,
            )
        if state == "FAILED":
            message = f"killed by signal {signal}" if signal else f"exit code {code}"
            return Execution(exit_code, message, provenance=provenance)
        reason = info.get("Reason", "")
        because = f" ({reason})" if reason and reason != "None" else ""
        return Execution(None, f"Slurm ended the job: {state}{because}", provenance=provenance)

    # -- the batch script ------------------------------------------------------------------------

    def _script(self, spec: JobSpec, program: list[str]) -> str:
        """A batch script that runs the command with exactly the job's environment (and what
        Slurm says about the job), or says that the command is not on the node."""
        env = {name: value for name, value in spec.env.items() if _NAME.fullmatch(name)}
        if spec.datasets:
            env["JUPYTER_EXT_DATASETS"] = str(link_datasets(spec))
        assignments = " ".join(shlex.quote(f"{k}={v}") for k, v in sorted(env.items()))
        slurm = " ".join(f'${{{name}:+"{name}=${name}"}}' for name in SLURM_VARS)
        command = " ".join(shlex.quote(part) for part in [*program, *spec.args])
        path = shlex.quote(env.get("PATH", os.defpath))
        found = shlex.quote(program[0])
        return f"""#!/bin/sh
# A job of jupyter-ext's Slurm executor.
if ! (PATH={path}; command -v {found}) >/dev/null 2>&1; then
    printf 'jupyter-ext: the command %s is not on %s\\n' {found} "$(hostname)"
    : > {shlex.quote(str(spec.scratch / MISSING))}
    exit 127
fi
exec env -i {assignments} {slurm} {command}
"""

    def _sandboxed(self, spec: JobSpec, program: list[str], box: Sandbox) -> tuple[str, str]:
        env = {name: value for name, value in spec.env.items() if _NAME.fullmatch(name)}
        datasets_at = str(spec.scratch / "datasets")
        if spec.datasets:
            env["JUPYTER_EXT_DATASETS"] = datasets_at
        return batch_script(
            box,
            spec.scratch,
            spec.workdir,
            spec.datasets,
            datasets_at,
            env,
            SLURM_VARS,
            [*program, *spec.args],
            spec.scratch / MISSING,
            f"jupyter-ext-{spec.identifier}",
        )

    # -- Slurm's client commands -----------------------------------------------------------------

    async def _submit(self, spec: JobSpec, script: Path) -> str:
        args = [
            "sbatch",
            "--parsable",
            "--job-name",
            JOB_NAME.format(spec.identifier),
            "--chdir",
            str(spec.workdir),
            "--output",
            str(spec.scratch / OUTPUT),
            "--export=NONE",
            "--no-requeue",
            "--ntasks=1",
            f"--cpus-per-task={max(1, math.ceil(self.cpus))}",
            f"--time={max(1, math.ceil(self.time_limit / 60))}",
        ]
        if self.memory_mb > 0:  # 0: the partition's default (clusters that do not count memory)
            args.append(f"--mem={self.memory_mb}")
        if self.partition:
            args.append(f"--partition={self.partition}")
        code, out, err = await self._slurm(*args, str(script))
        if code != 0:
            lines = [line.removeprefix("sbatch: error: ") for line in err.splitlines()]
            raise SlurmError(f"Slurm refused the job: {'; '.join(filter(None, lines)) or code}")
        job_id = out.strip().split(";")[0]
        if not job_id.isdigit():
            raise SlurmError(f"sbatch said no job id: {out.strip()!r}")
        return job_id

    async def _job(self, job_id: str) -> dict | None:
        """The job's fields from `scontrol show job`, or None when Slurm no longer knows it."""
        code, out, err = await self._slurm("scontrol", "show", "job", "-o", job_id)
        if code != 0:
            if "Invalid job id" in err:
                return None
            raise SlurmError(err.strip() or f"scontrol exited with {code}")
        return dict(_FIELD.findall(out.strip().splitlines()[0] if out.strip() else ""))

    async def _find(self, identifier: str) -> str | None:
        code, out, err = await self._slurm(
            "squeue", "-h", "--states=all", "--name", JOB_NAME.format(identifier), "-o", "%i"
        )
        if code != 0:
            raise SlurmError(err.strip() or f"squeue exited with {code}")
        ids = out.split()
        return max(ids, key=int) if ids else None

    async def _scancel(self, job_id: str) -> None:
        try:
            code, _, err = await self._slurm("scancel", job_id)
        except SlurmError as exc:
            log.warning("scancel %s failed: %s", job_id, exc)
            return
        if code != 0:  # often: it had just ended
            log.info("scancel %s: %s", job_id, err.strip())

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.slurm_conf:
            env["SLURM_CONF"] = self.slurm_conf
        return env

    async def _slurm(self, *args: str) -> tuple[int, str, str]:
        """Run a Slurm client command without blocking the loop: (exit code, stdout, stderr)."""
        try:
            process = await asyncio.create_subprocess_exec(
                *args,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self._env(),
            )
        except OSError as exc:
            message = f"{args[0]} could not start: {exc.strerror} (is Slurm installed?)"
            raise SlurmError(message) from None
        try:
            out, err = await process.communicate()
        except asyncio.CancelledError:  # the runner abandons the job: leave no process behind
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise
        return process.returncode, out.decode(errors="replace"), err.decode(errors="replace")

    def _cluster_info(self) -> dict:
        def ask(*args: str) -> str:
            try:
                result = subprocess.run(
                    args,
                    env=self._env(),
                    capture_output=True,
                    text=True,
                    stdin=subprocess.DEVNULL,
                    timeout=5,
                )
            except (OSError, subprocess.TimeoutExpired) as exc:
                return f"error: {exc}"
            return result.stdout if result.returncode == 0 else f"error: {result.stderr.strip()}"

        config = ask("scontrol", "show", "config")
        if config.startswith("error: "):
            return {"cluster": None, "error": config.removeprefix("error: ")}
        fields = dict(
            (key.strip(), value.strip())
            for key, _, value in (line.partition("=") for line in config.splitlines())
        )
        info = {"cluster": fields.get("ClusterName"), "slurm_version": fields.get("SLURM_VERSION")}
        which = ["-p", self.partition] if self.partition else []
        for line in ask("sinfo", "-h", *which, "-o", "%P|%a|%D|%C").splitlines():
            name, avail, nodes, cpus = [*line.split("|"), "", "", ""][:4]
            if self.partition or name.endswith("*"):
                info["partition_state"] = {
                    "name": name.rstrip("*"),
                    "available": avail,
                    "nodes": nodes,
                    "cpus": cpus,
                }
                break
        return info


class Followed:
    """A job this executor follows: its scratch folder, its Slurm id once known, its stop."""

    def __init__(self, scratch: Path, job_id: str | None = None) -> None:
        self.scratch = scratch
        self.job_id = job_id
        self.stopping = ""  # CANCELLED or TIMED_OUT once the executor stops it
        self.waker = asyncio.Event()

    async def pause(self, seconds: float) -> None:
        """Wait `seconds`, or less when a stop wants the job's end seen at once."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.waker.wait(), seconds)
        self.waker.clear()

    def wake(self) -> None:
        self.waker.set()


class Tail:
    """New complete lines of a file that grows, skipping the first `skip`; read a chunk at a
    time and cut by the one line cutter, so a huge line costs its length and no more."""

    def __init__(self, path: Path, skip: int = 0, max_bytes: int = MAX_LINE_BYTES) -> None:
        self.path = path
        self.skip = skip
        self.offset = 0
        self.cutter = LineCutter(max_bytes)

    def read(self, on_line: Callable[[str], None], final: bool = False) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                while chunk := f.read(1 << 20):
                    self.offset += len(chunk)
                    self._hand_on(self.cutter.feed(chunk), on_line)
        except FileNotFoundError:
            pass
        if final:
            self._hand_on(self.cutter.finish(), on_line)

    def _hand_on(self, lines: list[str], on_line: Callable[[str], None]) -> None:
        for line in lines:
            if self.skip:
                self.skip -= 1
                continue
            on_line(line)


def _seconds(runtime: str) -> float:
    """Slurm's [days-]hours:minutes:seconds as seconds (0 when it is not a time)."""
    days, _, clock = runtime.rpartition("-")
    try:
        hours, minutes, seconds = ([0, 0, 0] + [int(p) for p in clock.split(":")])[-3:]
        return float(int(days or 0) * 86400 + hours * 3600 + minutes * 60 + seconds)
    except ValueError:
        return 0.0


def _exit_code(value: str) -> tuple[int, int]:
    """Slurm's ExitCode `code:signal`."""
    code, _, signal = value.partition(":")
    try:
        return int(code), int(signal or 0)
    except ValueError:
        return 0, 0
