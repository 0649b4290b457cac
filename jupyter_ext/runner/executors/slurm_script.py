"""The Slurm executor's batch scripts and the files it keeps in a job's scratch folder.

The batch script runs the `run:` image's command with exactly the job's environment (and
what Slurm tells a job about itself), in the job's checkout; sandboxed (`sandbox.py`) unless
`SlurmExecutor.job_user` is ''. A script never lives in the job's checkout.
"""

from __future__ import annotations

import os
import re
import shlex

from .base import JobSpec, link_datasets
from .sandbox import OOM, REFUSED, USAGE, Confined, Sandbox, batch_script

OUTPUT = "slurm.log"  # the job's output, which the executor tails
JOB_ID = "slurm_id"  # the job's Slurm id, for a restarted runner
SCRIPT = "job.sh"
MISSING = "command-missing"  # the batch script leaves it when the command is not on the node
STALE = (OUTPUT, JOB_ID, MISSING, OOM, REFUSED, USAGE)  # an earlier try's, removed first
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


def _env(spec: JobSpec) -> dict[str, str]:
    """The job's environment, as a shell can hand it on (names it cannot hold are left out)."""
    return {name: value for name, value in spec.env.items() if _NAME.fullmatch(name)}


def plain_script(spec: JobSpec, program: list[str]) -> str:
    """A batch script that runs the command with exactly the job's environment (and what
    Slurm says about the job), or says that the command is not on the node."""
    env = _env(spec)
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


def sandboxed_scripts(spec: JobSpec, program: list[str], box: Sandbox) -> tuple[str, str]:
    """(the batch script, the sandbox script) that run the job in `box`."""
    env = _env(spec)
    datasets_at = str(spec.scratch / "datasets")
    if spec.datasets:
        env["JUPYTER_EXT_DATASETS"] = datasets_at
    job = Confined(
        box=box,
        scratch=spec.scratch,
        workdir=spec.workdir,
        datasets=spec.datasets,
        datasets_at=datasets_at,
        env=env,
        slurm_vars=SLURM_VARS,
        command=[*program, *spec.args],
        missing=spec.scratch / MISSING,
    )
    return batch_script(job, f"jupyter-ext-{spec.identifier}")
