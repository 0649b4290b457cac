"""How a leased job runs (its spec) and which files it made: shared by the agent and `runner
verify`, so a re-run sees what the job saw and is matched against its outputs the same way."""

from __future__ import annotations

import shlex
from pathlib import Path

from .. import schema
from ..pipeline import Outputs, match_outputs
from .executors import JobSpec
from .notebooks import is_notebook_image, notebook_job


def job_spec(
    lease: schema.Lease,
    job_dir: Path,
    scratch: Path,
    datasets: dict[str, Path],
    identifier: str | None = None,
) -> JobSpec:
    """How a leased job runs: shared with `runner verify`, so a re-run sees what the job saw."""
    image, *args = shlex.split(lease.run)
    image = image.partition(":")[0]
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(job_dir), "LANG": "C.UTF-8"}
    if is_notebook_image(image):  # NotebookError: the command names no notebook to run
        args, more = notebook_job(args, lease.parameters)
        env.update(more)
    return JobSpec(
        identifier=identifier or lease.identifier,
        image=image,
        args=args,
        workdir=job_dir,
        env=env,
        datasets=datasets,
        scratch=scratch,
        labels={"workspace": lease.workspace, "action": lease.action},
        resources=lease.resources,  # a restarted runner's spec, from its journal, has them too
    )


def made_and_declared(job_dir: Path, before: dict, declared: dict):
    """The files the job made or changed, sorted against its declared outputs (in a thread:
    a job that leaves a hundred thousand files does not stall the heartbeats)."""
    produced = {p for p, sig in files_of(job_dir).items() if before.get(p) != sig}
    return match_outputs(Outputs(declared), produced)


def files_of(root: Path) -> dict[str, tuple[int, int]]:
    """Every regular file under `root` (links are not followed): path -> (size, mtime)."""
    found = {}
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            info = path.stat()
            found[path.relative_to(root).as_posix()] = (info.st_size, info.st_mtime_ns)
    return found
