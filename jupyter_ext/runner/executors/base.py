"""The executor contract: small, so a Kubernetes executor can be added without the rest.

An executor runs one job (a `JobSpec`): the command of its `run:` image with
the job's checkout as its working directory and the backend's datasets beside
it, read-only. It hands each line the job prints to `on_line` as it comes,
stops the job when asked or when it outlives its time limit, and says how it
ended (`Execution`). Limits (CPU, memory, time) are the executor's traits.

Four methods make an executor:
- `run(spec, on_line)`: start the job and follow it to its end;
- `recover(spec, on_line, seen)`: follow on a job that an earlier runner
  process started and lost (killed, restarted), skipping the `seen` lines it
  already handed on; an engine that cannot find it again says so;
- `cancel(identifier)`: stop it within a second; `run`/`recover` then return
  an `Execution` with `cancelled` set;
- `describe()`: what the health report says about it (`health()` is the short form the
  runner's heartbeat carries to `GET /api/v1/backends/{slug}`).

Datasets: `spec.datasets` holds exactly the dataset versions the job was leased (checked
against their manifests by the runner); an executor gives the job those and no other, at
`$JUPYTER_EXT_DATASETS/<name>` (in a container `/datasets/<name>`), read-only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from traitlets import Float, Integer
from traitlets.config import LoggingConfigurable

from ..lines import MAX_LINE_BYTES

LABEL = "jupyter-ext.job"  # names the job on an engine (container label, Slurm job name)


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


@dataclass
class Execution:
    """How a job ended: its exit code, or why it never had one."""

    exit_code: int | None
    message: str = ""
    cancelled: bool = False
    timed_out: bool = False
    provenance: dict = field(default_factory=dict)  # interpreter, image digest, ...


class Executor(LoggingConfigurable):
    """Base of executors; see the module's docstring for the contract."""

    name = "base"
    isolates = False  # whether a job is kept from what it was not given

    time_limit = Float(3600 * 6, help="Seconds a job may run before it is stopped.").tag(
        config=True
    )
    cpus = Float(1.0, help="CPUs a job may use.").tag(config=True)
    memory_mb = Integer(4096, help="Memory a job may use, in MB.").tag(config=True)
    line_max_bytes = MAX_LINE_BYTES  # a log line's bytes kept (c.RunnerApp.log_line_max_bytes)

    async def run(self, spec: JobSpec, on_line: Callable[[str], None]) -> Execution:
        raise NotImplementedError

    async def recover(self, spec: JobSpec, on_line: Callable[[str], None], seen: int) -> Execution:
        return Execution(
            None, f"the runner restarted and the {self.name} executor cannot follow a job on"
        )

    async def cancel(self, identifier: str) -> None:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"executor": self.name, "isolates": self.isolates}

    def health(self) -> str:
        """The executor as the backend's health report names it (64 characters at most)."""
        return self.name


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
