"""Problems found in a project.yaml, and the exceptions that carry them.

Exception tree::

    PipelineError                  base of everything this package raises
    ├── ProjectValidationError     the file is not a valid pipeline; `.problems` lists all of them
    └── PlanningError              a job request cannot be planned; `.code` says why
        ├── UnknownActionError
        └── NothingToDoError

Every problem knows where it is (line, column and key path) and says what to
change, so the job server, the panel and the command line show it as it is.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .names import MAX_NAME_LENGTH, shown

Severity = Literal["error", "warning"]


def format_key_path(path: tuple[Any, ...]) -> str:
    """`("actions", "analyse", "needs", 1)` -> `actions.analyse.needs[1]`.

    A key a file chose is shown escaped and cut (see `names.shown`): a key path
    must not carry control characters or a megabyte to the reader."""
    text = ""
    for step in path:
        if isinstance(step, int) and not isinstance(step, bool):
            text += f"[{step}]"
        else:
            step = shown(str(step), MAX_NAME_LENGTH)
            text += f".{step}" if text else step
    return text


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong (or old-fashioned, for warnings) in a project file."""

    code: str
    message: str
    path: tuple[Any, ...] = ()
    line: int | None = None
    column: int | None = None
    severity: Severity = "error"

    @property
    def key_path(self) -> str:
        return format_key_path(self.path)

    def format(self, filename: str = "project.yaml") -> str:
        """`file:line:col: key.path: message`, the shape compilers and editors understand."""
        where = filename
        if self.line is not None:
            where += f":{self.line}:{self.column or 1}"
        prefix = "warning: " if self.severity == "warning" else ""
        key = f"{self.key_path}: " if self.path else ""
        return f"{shown(where, 4096)}: {prefix}{key}{shown(self.message, 4096)}"

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = self.key_path
        return data


class PipelineError(ValueError):
    """Base class of the errors of `jupyter_ext.pipeline`."""


@dataclass
class ProjectValidationError(PipelineError):
    """The file is not a valid pipeline. All its problems are listed, in file order."""

    problems: list[Problem]
    filename: str = "project.yaml"
    warnings: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.problems)
        head = f"{self.filename} is not a valid pipeline ({count} problem{'s' * (count != 1)}):"
        return "\n".join([head, *(p.format(self.filename) for p in self.problems)])


class PlanningError(PipelineError):
    """A job request that cannot be planned, with a sentence that says what to change."""

    code = "planning-error"


class UnknownActionError(PlanningError):
    code = "unknown-action"


class NothingToDoError(PlanningError):
    """Everything asked for already succeeded or is already scheduled: not a failure as such."""

    code = "nothing-to-do"
