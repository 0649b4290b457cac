"""Slurm's client commands, as the Slurm executor uses them: sbatch, scontrol, squeue, scancel
and sinfo, run without blocking the loop, their answers read into Python.

The state of a job comes from `scontrol show job` (no `sacct`: a site need not run
accounting; a finished job stays visible for slurmctld's MinJobAge). What a job used comes
from `sacct` where the cluster keeps accounting (`accounting`), and is None where it does not.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import subprocess

log = logging.getLogger(__name__)

JOB_NAME = "jupyter-ext-{}"
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
RUNNING = ("RUNNING", "COMPLETING", "SUSPENDED")  # states of a job that has begun to run
_FIELD = re.compile(r"(?:^|\s)([A-Za-z][\w:/]*)=(\S*)")


class SlurmError(Exception):
    """A Slurm client command failed (not installed, or the controller did not answer)."""


async def slurm(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """Run a Slurm client command without blocking the loop: (exit code, stdout, stderr)."""
    try:
        process = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=env,
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


async def sbatch(env: dict[str, str], *args: str) -> str:
    """Submit a batch job (`args` end with its script); its Slurm job id."""
    code, out, err = await slurm(env, "sbatch", "--parsable", *args)
    if code != 0:
        lines = [line.removeprefix("sbatch: error: ") for line in err.splitlines()]
        raise SlurmError(f"Slurm refused the job: {'; '.join(filter(None, lines)) or code}")
    job_id = out.strip().split(";")[0]
    if not job_id.isdigit():
        raise SlurmError(f"sbatch said no job id: {out.strip()!r}")
    return job_id


async def show_job(env: dict[str, str], job_id: str) -> dict | None:
    """The job's fields from `scontrol show job`, or None when Slurm no longer knows it."""
    code, out, err = await slurm(env, "scontrol", "show", "job", "-o", job_id)
    if code != 0:
        if "Invalid job id" in err:
            return None
        raise SlurmError(err.strip() or f"scontrol exited with {code}")
    return dict(_FIELD.findall(out.strip().splitlines()[0] if out.strip() else ""))


async def find_job(env: dict[str, str], identifier: str) -> str | None:
    """The Slurm job id of a jupyter-ext job, by its name (the latest, if several)."""
    code, out, err = await slurm(
        env, "squeue", "-h", "--states=all", "--name", JOB_NAME.format(identifier), "-o", "%i"
    )
    if code != 0:
        raise SlurmError(err.strip() or f"squeue exited with {code}")
    ids = out.split()
    return max(ids, key=int) if ids else None


async def scancel(env: dict[str, str], job_id: str) -> None:
    try:
        code, _, err = await slurm(env, "scancel", job_id)
    except SlurmError as exc:
        log.warning("scancel %s failed: %s", job_id, exc)
        return
    if code != 0:  # often: it had just ended
        log.info("scancel %s: %s", job_id, err.strip())


def cluster_info(env: dict[str, str], partition: str) -> dict:
    """The cluster's name, Slurm's version and the partition's state (briefly blocking)."""

    def ask(*args: str) -> str:
        try:
            result = subprocess.run(
                args, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=5
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
    which = ["-p", partition] if partition else []
    for line in ask("sinfo", "-h", *which, "-o", "%P|%a|%D|%C").splitlines():
        name, avail, nodes, cpus = [*line.split("|"), "", "", ""][:4]
        if partition or name.endswith("*"):
            info["partition_state"] = {
                "name": name.rstrip("*"),
                "available": avail,
                "nodes": nodes,
                "cpus": cpus,
            }
            break
    return info


async def accounting(env: dict[str, str], job_id: str) -> dict[str, float]:
    """What Slurm's accounting says an ended job used: cpu_seconds (TotalCPU), wall_seconds
    (Elapsed), peak_memory_bytes (the largest MaxRSS of its steps); {} on a cluster without
    accounting (sacct then fails: "accounting storage is disabled") or before it has them."""
    try:  # the job's line first (its CPU summed over its steps), then each step's
        code, out, _ = await slurm(
            env, "sacct", "-j", job_id, "--format=TotalCPU,Elapsed,MaxRSS", "-P", "-n"
        )
    except SlurmError:
        return {}
    lines = [line.split("|") for line in out.splitlines() if line.count("|") == 2]
    if code != 0 or not lines:
        return {}
    cpu, elapsed, _ = lines[0]
    found = {"cpu_seconds": duration_seconds(cpu), "wall_seconds": duration_seconds(elapsed)}
    if peaks := [p for p in (size_bytes(line[2]) for line in lines) if p is not None]:
        found["peak_memory_bytes"] = max(peaks)
    return {k: v for k, v in found.items() if v is not None}


def duration_seconds(value: str) -> float | None:
    """sacct's [days-][hours:]minutes:seconds[.fraction] as seconds (None when it is none)."""
    days, _, clock = value.strip().rpartition("-")
    parts = clock.split(":")
    if not clock or len(parts) > 3:
        return None
    try:
        seconds = float(parts[-1])
        minutes = int(parts[-2]) if len(parts) > 1 else 0
        hours = int(parts[-3]) if len(parts) > 2 else 0
        return int(days or 0) * 86400 + hours * 3600 + minutes * 60 + seconds
    except ValueError:
        return None


UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}


def size_bytes(value: str) -> int | None:
    """sacct's 1024K, 52.5M, 3G (powers of 1024) as bytes (None when it is none)."""
    value = value.strip().upper()
    unit = value[-1:] if value[-1:] in UNITS else ""
    try:
        return int(float(value.removesuffix(unit)) * UNITS[unit]) if value else None
    except ValueError:
        return None


def run_seconds(runtime: str) -> float:
    """Slurm's [days-]hours:minutes:seconds as seconds (0 when it is not a time)."""
    days, _, clock = runtime.rpartition("-")
    try:
        hours, minutes, seconds = ([0, 0, 0] + [int(p) for p in clock.split(":")])[-3:]
        return float(int(days or 0) * 86400 + hours * 3600 + minutes * 60 + seconds)
    except ValueError:
        return 0.0


def exit_code(value: str) -> tuple[int, int]:
    """Slurm's ExitCode `code:signal`."""
    code, _, signal = value.partition(":")
    try:
        return int(code), int(signal or 0)
    except ValueError:
        return 0, 0
