"""A `jupyter:` action on the runner's side: the command it runs, its parameters, its failed cell.

A notebook action runs `notebook_main.py` (the `jupyter` image's program on every executor)
with the command in our own form (`pipeline.notebooks.notebook_command`, which also reads
OpenSAFELY's `jupyter nbconvert ...`), and its parameters as JSON in the environment. They are
checked twice on the site: as the lease says them, for their shape, before anything is written
(`check_parameters_shape`, from `leases.py`); and against the notebook checked out, for their
kinds, before the job runs (`check_checkout`).

When the notebook fails, the script's last line says which cell failed and why; the job's
status message says it as the backend's log policy allows (`failure_message`). A job can print
such a line itself: that is its own text either way, so only the last one counts, cut short.
"""

from __future__ import annotations

import json
import keyword
import math
from pathlib import Path
from typing import Any

from ..pipeline.notebooks import (
    MAX_PARAMETERS_BYTES,
    NotebookError,
    check_parameters,
    is_notebook_image,
    notebook_command,
    read_notebook,
)
from .paths import PathEscape, inside

NOTEBOOK_MAIN = Path(__file__).with_name("notebook_main.py")
PARAMETERS_ENV = "JUPYTER_EXT_PARAMETERS"  # as notebook_main.py reads it
SAID = "jupyter-ext: the notebook "  # how notebook_main.py's own last words begin
MAX_SAID = 300  # characters of them kept for a status message
MAX_DEPTH = 32  # lists and objects in a parameter's value, one inside another
STATUS_ONLY = "the notebook failed: which cell, and why, stay on the site"

__all__ = [
    "NOTEBOOK_MAIN",
    "PARAMETERS_ENV",
    "FailedCell",
    "NotebookError",
    "check_checkout",
    "check_parameters_shape",
    "failure_message",
    "is_notebook_image",
    "notebook_job",
]


def notebook_job(args: list[str], parameters: dict[str, Any]) -> tuple[list[str], dict[str, str]]:
    """(the notebook runner's arguments, its environment) for a notebook action's command;
    NotebookError says in a sentence why the command cannot run."""
    command = notebook_command(args)
    return command.args(), {PARAMETERS_ENV: json.dumps(parameters)}


def check_parameters_shape(parameters: Any) -> None:
    """PathEscape (the lease's refusal) unless `parameters` is a JSON object of Python names,
    with finite numbers, not too deep, and under MAX_PARAMETERS_BYTES as JSON."""
    if not isinstance(parameters, dict):
        raise PathEscape("the parameters are not an object of names and values")
    for name in parameters:
        if not (isinstance(name, str) and name.isidentifier() and len(name) <= 100) or (
            keyword.iskeyword(name)
        ):
            raise PathEscape(f"the parameter {_short(name)} is not a name a notebook can set")
    _check_values(parameters)
    size = len(json.dumps(parameters))
    if size > MAX_PARAMETERS_BYTES:
        raise PathEscape(
            f"the parameters are {size} bytes as JSON, over {MAX_PARAMETERS_BYTES} bytes"
        )


def _check_values(parameters: dict) -> None:
    """Plain JSON values only, MAX_DEPTH deep at most (walked without recursion)."""
    left = [(value, 1) for value in parameters.values()]
    seen = 0
    while left:
        value, depth = left.pop()
        seen += 1
        if seen > MAX_PARAMETERS_BYTES:  # each value takes a byte of JSON at least
            raise PathEscape(f"the parameters are over {MAX_PARAMETERS_BYTES} bytes as JSON")
        if depth > MAX_DEPTH:
            raise PathEscape(f"a parameter's value is nested more than {MAX_DEPTH} deep")
        if isinstance(value, dict):
            if not all(isinstance(key, str) for key in value):
                raise PathEscape("a parameter's value has an object with a key that is no text")
            left += [(item, depth + 1) for item in value.values()]
        elif isinstance(value, list):
            left += [(item, depth + 1) for item in value]
        elif isinstance(value, float) and not math.isfinite(value):
            raise PathEscape("a parameter's value is not a finite number")
        elif value is not None and not isinstance(value, str | int | float | bool):
            raise PathEscape("a parameter's value is not plain JSON")


def check_checkout(workdir: Path, notebook: str, parameters: dict[str, Any]) -> list[str]:
    """Warnings (names the notebook does not declare) for the notebook as checked out;
    NotebookError if it cannot be read or a parameter is of the wrong kind."""
    try:
        path = inside(workdir, notebook)  # a link in the checkout that leads out is refused
        text = path.read_bytes()
    except PathEscape as exc:
        raise NotebookError(str(exc)) from None
    except FileNotFoundError:
        raise NotebookError(f"the notebook {notebook} is not in the repository") from None
    except OSError:
        raise NotebookError(f"the notebook {notebook} cannot be read") from None
    return check_parameters(read_notebook(text, notebook), parameters, notebook)


class FailedCell:
    """An `on_line` that hands every line on and keeps the last one notebook_main.py's last
    words could be (which cell failed and why, or why the notebook could not run)."""

    def __init__(self, on_line) -> None:
        self.on_line = on_line
        self.said: str | None = None

    def __call__(self, line: str) -> None:
        if line.startswith(SAID):
            said = " ".join(line.removeprefix("jupyter-ext: ").split())
            self.said = said if len(said) <= MAX_SAID else f"{said[: MAX_SAID - 1]}…"
        self.on_line(line)


def failure_message(said: str, policy, sends_job_text: bool) -> str:
    """The status message of a failed notebook: the script's words under `full` (the site's
    patterns redacted), masked like log lines under `redacted`, none of them under `status`."""
    if not sends_job_text:
        return STATUS_ONLY
    return policy.redact(said)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
