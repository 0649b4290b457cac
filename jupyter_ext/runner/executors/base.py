"""The executor contract: small, so a Kubernetes executor can be added without the rest.

An executor runs one job's command with the job's folder as its working
directory, hands each line it prints to `on_line` as it comes, stops it when
asked, and says how it ended. Limits (CPU, memory, time) are the executor's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from traitlets import Float, Integer
from traitlets.config import LoggingConfigurable


@dataclass
class Execution:
    """How a command ended: its exit code, or why it never had one."""

    exit_code: int | None
    message: str = ""
    cancelled: bool = False
    timed_out: bool = False
    provenance: dict = field(default_factory=dict)  # interpreter, image digest, ...


class Executor(LoggingConfigurable):
    """Base of executors. Subclasses implement `run` and `cancel`; `describe` for health."""

    name = "base"
    isolates = False  # whether a job is kept from what it was not given

    time_limit = Float(3600 * 6, help="Seconds a job may run before it is stopped.").tag(
        config=True
    )
    cpus = Float(1.0, help="CPUs a job may use.").tag(config=True)
    memory_mb = Integer(4096, help="Memory a job may use, in MB.").tag(config=True)

    async def run(
        self, identifier: str, argv: list[str], cwd: Path, env: dict[str, str],
        on_line: Callable[[str], None],
    ) -> Execution:  # fmt: skip
        raise NotImplementedError

    async def cancel(self, identifier: str) -> None:
        raise NotImplementedError

    def describe(self) -> dict:
        return {"executor": self.name, "isolates": self.isolates}
