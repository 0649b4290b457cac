"""Is a notebook an action of project.yaml, and if not, the entry that would make it one.

A notebook is an action when an action's image is `jupyter` and its command names that
notebook, in our form (`jupyter:v1 analysis/explore.ipynb`) or nbconvert's. Otherwise the
proposal is an entry the analyst edits before it is written: a name from the file's stem,
`run: jupyter:v1 <path>`, the outputs the code writes (`notebook_files`) beside the rendered
HTML (what output checkers review) and the executed notebook (which stays on the site), and
the actions that make what it reads as its `needs`. Pure: the handler reads the files.
"""

from __future__ import annotations

import posixpath
import shlex
from typing import Any

from ..pipeline import PRIVACY_LEVELS, RELEASABLE_SUFFIXES, Action, Pipeline, pattern_problems
from ..pipeline.names import is_safe_name, is_safe_output_name, safe_name_like
from ..pipeline.notebooks import NotebookError, is_notebook_image, notebook_command
from ..pipeline.outputs import pattern_regex
from .notebook_files import NotebookFiles

IMAGE = "jupyter:v1"
RELEASABLE = "moderately_sensitive"
KEPT = "highly_sensitive"


def notebook_actions(pipeline: Pipeline, path: str) -> list[Action]:
    """The actions that run the notebook `path` (a path from the top of the repository)."""
    found = []
    for action in pipeline.actions.values():
        if not is_notebook_image(action.run.image):
            continue
        try:
            command = notebook_command(action.run.args)
        except NotebookError:
            continue  # the pipeline's own problems say what is wrong with it
        if command.notebook == path:
            found.append(action)
    return found


def run_command(path: str) -> str:
    return f"{IMAGE} {shlex.quote(path)}"


def proposed_name(path: str, taken: set[str]) -> str:
    """The notebook's stem as an action name no other action has: `explore`, `explore_2`."""
    stem = posixpath.splitext(posixpath.basename(path))[0]
    base = safe_name_like(stem.replace(" ", "_")).lower()
    if not base[0].isalpha():
        base = f"notebook_{base}"
    name, n = base, 2
    while name in taken or name == "run_all":
        name, n = f"{base}_{n}", n + 1
    return name


def propose(pipeline: Pipeline | None, path: str, files: NotebookFiles) -> dict[str, Any]:
    """The entry for the notebook `path`: `name`, `run`, `needs` and `outputs`, with `notes`
    saying what was found and left out."""
    command = notebook_command([path])
    actions = pipeline.actions if pipeline is not None else {}
    outputs: dict[str, dict[str, str]] = {RELEASABLE: {"html": command.html}}
    outputs[KEPT] = {"notebook": command.ipynb or f"output/{_stem(path)}.ipynb"}
    notes = []
    own = {command.html, command.ipynb}
    for written in files.writes:
        if written in own or written == path:
            continue
        level = RELEASABLE if _suffix(written) in RELEASABLE_SUFFIXES else KEPT
        if problems := pattern_problems(written, level):
            notes.append(f"it writes {written}, which cannot be an output: it {problems[0]}")
            continue
        outputs[level][_output_name(written, outputs)] = written
    needs = []  # a file no action makes is the repository's own (a codelist, say)
    for read in files.reads:
        needs += [a.name for a in actions.values() if _makes(a, read) and a.name not in needs]
    if files.unreadable_cells:
        n = files.unreadable_cells
        notes.append(f"{n} cell{'s' if n > 1 else ''} could not be read as Python: check by hand")
    return {
        "name": proposed_name(path, set(actions)),
        "run": run_command(path),
        "needs": needs,
        "outputs": {level: found for level, found in outputs.items() if found},
        "notes": notes,
    }


def _makes(action: Action, read: str) -> bool:
    """Whether one of the action's output patterns names the file read (a read written with
    `*`, from an f-string, matches a pattern it is written like)."""
    return any(
        pattern == read or pattern_regex(pattern).fullmatch(read)
        for _, _, pattern in action.outputs
    )


def _stem(path: str) -> str:
    return posixpath.splitext(posixpath.basename(path))[0]


def _suffix(path: str) -> str:
    return posixpath.splitext(path)[1].lower()


def _output_name(path: str, outputs: dict[str, dict[str, str]]) -> str:
    """An output name from the file's stem, unique in the action."""
    taken = {name for found in outputs.values() for name in found}
    base = safe_name_like(_stem(path).replace("*", "each")) or "output"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


def entry_from(body: dict[str, Any], path: str) -> tuple[str, dict[str, Any]]:
    """The action's name and entry from a request's (possibly edited) proposal, or a
    sentence (ValueError) saying which part to change."""
    name = body.get("name")
    if not is_safe_name(name):
        raise ValueError(
            "give the action a name of letters, digits, `_`, `-` and `.`, starting with a "
            "letter or digit, e.g. explore"
        )
    needs = body.get("needs") or []
    if not isinstance(needs, list) or not all(is_safe_name(n) for n in needs):
        raise ValueError('give "needs" as a list of action names')
    outputs = body.get("outputs")
    if not isinstance(outputs, dict) or not outputs:
        raise ValueError('give "outputs": at least the HTML, e.g. {"moderately_sensitive": ...}')
    clean: dict[str, dict[str, str]] = {}
    for level, found in outputs.items():
        if level not in PRIVACY_LEVELS:
            raise ValueError(
                f"{level} is not a privacy level: use one of {', '.join(PRIVACY_LEVELS)}"
            )
        if not isinstance(found, dict) or not all(
            is_safe_output_name(k) and isinstance(v, str) and v for k, v in found.items()
        ):
            raise ValueError(f"give the {level} outputs as names with a file pattern each")
        if found:
            clean[level] = dict(found)
    if not clean:
        raise ValueError("give at least one output: the notebook's HTML, say")
    entry: dict[str, Any] = {"run": run_command(path)}
    if needs:
        entry["needs"] = list(dict.fromkeys(needs))
    config = body.get("config")
    if config:
        if not isinstance(config, dict):
            raise ValueError('give "config" as the parameters\' values by name')
        entry["config"] = config
    entry["outputs"] = clean
    return name, entry
