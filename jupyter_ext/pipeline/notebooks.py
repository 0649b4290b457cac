"""Notebooks as actions: how a `jupyter:` action's command names its notebook, and the
notebook's parameters.

An action runs a notebook when its image is `jupyter` (an image the official parser
accepts). Two forms of its command are read:

    run: jupyter:v1 analysis/explore.ipynb --html output/explore.html
    run: jupyter:latest jupyter nbconvert /workspace/analysis/report.ipynb --execute
         --to html --output-dir=/workspace/output --ExecutePreprocessor.timeout=86400

The first is ours (`--html`, `--ipynb`, `--cell-timeout`, `--timeout` and `--no-input`
are optional); the second is what OpenSAFELY studies already write, so their notebook
actions run here unchanged (`latest` only in project.yaml versions before 5, which ask for
a version such as `v1`). Either becomes one `NotebookCommand`.

Parameters are papermill's: the code cell tagged `parameters` holds defaults, as plain
assignments (`region = "north"`, `threshold: int = 10`). Values come from the action's
`config` and a submission's overrides; each is checked against the default's type. A
value the notebook does not declare is a warning (it is injected all the same).

Pure: the job server checks a notebook read at a commit, the runner the one it checked out.
"""

from __future__ import annotations

import ast
import json
import keyword
import posixpath
from dataclasses import dataclass, field
from typing import Any

NOTEBOOK_IMAGE = "jupyter"
WORKSPACE = "/workspace"  # the nbconvert form's paths start here (the container's checkout)
CELL_TIMEOUT = 600.0  # seconds a cell may run, unless the command says
MAX_NOTEBOOK_BYTES = 50 * 1024 * 1024
MAX_PARAMETERS_BYTES = 64 * 1024  # a job's parameters, as JSON
TAG = "parameters"
INJECTED_TAG = "injected-parameters"


class NotebookError(ValueError):
    """A notebook action that cannot run as written; the message says what to change."""


@dataclass(frozen=True)
class NotebookCommand:
    """What a notebook action runs, with every path relative to the checkout."""

    notebook: str
    html: str  # the executed notebook, rendered: the output checkers review
    ipynb: str | None  # the executed notebook with its outputs (stays on the site)
    cell_timeout: float = CELL_TIMEOUT
    timeout: float | None = None  # the whole notebook; None: the executor's time limit
    no_input: bool = False  # the HTML shows outputs only
    ignored: tuple[str, ...] = ()  # nbconvert options that change nothing here

    def args(self) -> list[str]:
        """The command in our own form, as the notebook runner takes it."""
        args = [self.notebook, "--html", self.html, "--cell-timeout", f"{self.cell_timeout:g}"]
        if self.ipynb:
            args += ["--ipynb", self.ipynb]
        if self.timeout is not None:
            args += ["--timeout", f"{self.timeout:g}"]
        if self.no_input:
            args.append("--no-input")
        return args


def is_notebook_image(image: str) -> bool:
    return image.partition(":")[0] == NOTEBOOK_IMAGE


def _relative(path: str, what: str) -> str:
    """`path` inside the checkout, as a clean relative path, or refused."""
    if path == WORKSPACE or path.startswith(WORKSPACE + "/"):
        path = path[len(WORKSPACE) :].lstrip("/")
    clean = posixpath.normpath(path) if path else ""
    if not clean or clean == "." or clean.startswith(("/", "../")) or clean == ".." or "\\" in path:
        raise NotebookError(
            f"the {what} {path!r} is not a path inside the repository: give one such as "
            "analysis/report.ipynb"
        )
    return clean


def _seconds(text: str, option: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 10 * 86400:
        raise NotebookError(f"{option} takes seconds, from 1 to 864000, not {text!r}")
    return value


def _options(args: list[str], takes_value: set[str]) -> tuple[list[str], dict[str, str], list]:
    """Positional arguments, `--name value` / `--name=value` options, and flags."""
    positional, options, flags = [], {}, []
    rest = list(args)
    while rest:
        arg = rest.pop(0)
        if not arg.startswith("--"):
            positional.append(arg)
            continue
        name, eq, value = arg.partition("=")
        if name in takes_value and not eq:
            if not rest:
                raise NotebookError(f"{name} needs a value")
            value = rest.pop(0)
        if name in takes_value:
            options[name] = value
        else:
            flags.append(arg)
    return positional, options, flags


def _stem(notebook: str) -> str:
    return posixpath.splitext(posixpath.basename(notebook))[0]


def notebook_command(args: list[str] | tuple[str, ...]) -> NotebookCommand:
    """The notebook action whose command (after its image) is `args`, or a sentence why not."""
    args = list(args)
    if args[:2] == ["jupyter", "nbconvert"]:
        return _nbconvert_form(args[2:])
    ours = {"--html", "--ipynb", "--cell-timeout", "--timeout"}
    positional, options, flags = _options(args, ours)
    unknown = [f for f in flags if f != "--no-input"]
    if len(positional) != 1 or not positional[0].endswith(".ipynb") or unknown:
        raise NotebookError(
            "a jupyter action runs one notebook: write `run: jupyter:v1 "
            "analysis/report.ipynb`, optionally with --html PATH, --ipynb PATH, "
            "--cell-timeout SECONDS, --timeout SECONDS or --no-input"
            + (f" (not {' '.join(unknown)})" if unknown else "")
        )
    notebook = _relative(positional[0], "notebook")
    html = _relative(options.get("--html", f"output/{_stem(notebook)}.html"), "HTML output")
    ipynb = _relative(options.get("--ipynb", f"output/{_stem(notebook)}.ipynb"), "notebook output")
    return NotebookCommand(
        notebook=notebook,
        html=html,
        ipynb=None if ipynb == notebook else ipynb,
        cell_timeout=_seconds(options.get("--cell-timeout", f"{CELL_TIMEOUT}"), "--cell-timeout"),
        timeout=_seconds(options["--timeout"], "--timeout") if "--timeout" in options else None,
        no_input="--no-input" in flags,
    )


def _nbconvert_form(args: list[str]) -> NotebookCommand:
    """`jupyter nbconvert NOTEBOOK --execute --to html ...`, as OpenSAFELY studies write it."""
    valued = {"--to", "--output-dir", "--output", "--template", "--ExecutePreprocessor.timeout"}
    positional, options, flags = _options(args, valued)
    notebooks = [p for p in positional if p.endswith(".ipynb")]
    if len(notebooks) != 1 or options.get("--to", "html") != "html":
        raise NotebookError(
            "a `jupyter nbconvert` action runs one notebook to HTML here: write "
            "`jupyter nbconvert analysis/report.ipynb --execute --to html --output-dir=output`"
        )
    notebook = _relative(notebooks[0], "notebook")
    folder = options.get("--output-dir", posixpath.dirname(notebook) or ".")
    name = options.get("--output", _stem(notebook))
    name = name if name.endswith(".html") else f"{name}.html"
    html = _relative(posixpath.join(_relative(folder, "output folder"), name), "HTML output")
    timeout = options.get("--ExecutePreprocessor.timeout")
    kept = {"--execute", "--no-input"}
    return NotebookCommand(
        notebook=notebook,
        html=html,
        ipynb=None,
        cell_timeout=_seconds(timeout, "--ExecutePreprocessor.timeout")
        if timeout
        else CELL_TIMEOUT,
        no_input="--no-input" in flags,
        ignored=tuple(
            [f for f in flags if f not in kept]
            + ([f"--template={options['--template']}"] if "--template" in options else [])
            + [p for p in positional if p not in notebooks]
        ),
    )


# -- parameters --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """One default of the parameters cell: its name, value and the kind of value it takes."""

    name: str
    default: Any
    kind: str  # bool, int, float, str, list, dict, or "any" (None, or not a plain value)


@dataclass(frozen=True)
class NotebookInfo:
    cells: int
    parameters: dict[str, Parameter] = field(default_factory=dict)
    has_parameters_cell: bool = False


KINDS = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}


def _kind(value: Any) -> str:
    return KINDS.get(type(value), "any")


def read_notebook(text: str | bytes, path: str = "the notebook") -> NotebookInfo:
    """The notebook's cells and the parameters its `parameters` cell declares; refused in a
    sentence if it is not a notebook (invalid JSON, no cells)."""
    if len(text) > MAX_NOTEBOOK_BYTES:
        raise NotebookError(f"{path} is over {MAX_NOTEBOOK_BYTES // 2**20} MB: keep outputs out")
    try:
        notebook = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NotebookError(f"{path} is not a notebook: it is not valid JSON ({exc})") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list) or not all(isinstance(c, dict) for c in cells):
        raise NotebookError(f"{path} is not a notebook: it has no list of cells")
    for cell in cells:
        tags = (cell.get("metadata") or {}).get("tags") or []
        if cell.get("cell_type") == "code" and isinstance(tags, list) and TAG in tags:
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            return NotebookInfo(len(cells), _declared(source, path), True)
    return NotebookInfo(len(cells))


def _declared(source: str, path: str) -> dict[str, Parameter]:
    """The names the parameters cell assigns, with their defaults when they are plain values."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise NotebookError(
            f"the parameters cell of {path} is not valid Python (line {exc.lineno}): {exc.msg}"
        ) from None
    declared = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        try:
            default = ast.literal_eval(value)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            default = None  # computed: any value may replace it
        for target in targets:
            if isinstance(target, ast.Name):
                declared[target.id] = Parameter(target.id, default, _kind(default))
    return declared


def _fits(kind: str, value: Any) -> bool:
    if kind == "any":
        return True
    if kind == "float":
        return type(value) in (int, float)
    return _kind(value) == kind


def check_parameters(info: NotebookInfo, values: dict[str, Any], path: str) -> list[str]:
    """Refuse a value of the wrong kind; warn (the returned sentences) of names not declared."""
    size = len(json.dumps(values, default=str))
    if size > MAX_PARAMETERS_BYTES:
        raise NotebookError(
            f"the parameters of {path} are {size} bytes as JSON: keep them under "
            f"{MAX_PARAMETERS_BYTES // 1024} KB (put data in a file of the repository)"
        )
    warnings = []
    for name, value in values.items():
        if not name.isidentifier() or keyword.iskeyword(name):
            raise NotebookError(f"{name!r} cannot be a parameter: name it as a Python variable")
        declared = info.parameters.get(name)
        if declared is None:
            where = (
                "its parameters cell" if info.has_parameters_cell else "a cell tagged parameters"
            )
            warnings.append(
                f"{path} does not declare the parameter {name} in {where}: it is set all the same"
            )
        elif not _fits(declared.kind, value):
            raise NotebookError(
                f"the parameter {name} of {path} takes {_article(declared.kind)} (its default is "
                f"{declared.default!r}), not {json.dumps(value)}"
            )
    return warnings


def _article(kind: str) -> str:
    words = {
        "int": "a whole number",
        "float": "a number",
        "str": "a string",
        "bool": "true or false",
    }
    return words.get(kind, f"a {kind}")
