"""`jupyter-ext/notebook-action`: the notebook toolbar's question and its one write.

`GET ?path=analysis/explore.ipynb` says whether the notebook is an action of the checkout's
project.yaml: if it is, the action(s) with their config and the notebook's parameters (what
the Run on backend dialog shows); if not, the proposed entry (`notebook_action.propose`) with
the change to project.yaml it would make, as a diff, and whether the result is valid.

`POST {path, name, needs, outputs, config?, dry_run?}` adds the (possibly edited) entry to
project.yaml with every other line kept (`project_yaml.add_action`). Nothing is written if
the notebook's path leads out of the workspace, the name is taken, the notebook is an action
already, or the new file would not pass the pipeline's own checks; each is said in a sentence.
With `dry_run` it answers the diff and writes nothing (the dialog shows edits as they happen).
"""

from __future__ import annotations

import json
import os
import posixpath
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jupyter_server.auth.decorator import authorized
from tornado import web

from ..pipeline import Pipeline, check_pipeline
from ..pipeline.notebooks import MAX_NOTEBOOK_BYTES, NotebookError, read_notebook
from ..pipeline.yaml_loader import MAX_CHARACTERS
from .handlers import Base
from .notebook_action import entry_from, notebook_actions, propose
from .notebook_files import code_cells, notebook_files
from .paths import workspace_path
from .project_yaml import ProjectYamlError, add_action, unified_diff

PROJECT = "project.yaml"
HINT = "name a notebook by its path from the top of the workspace, e.g. analysis/explore.ipynb"


def notebook_file(root: Path, path: str) -> tuple[str, str]:
    """(the notebook's path from the top, its text), or refused before anything is read."""
    if not isinstance(path, str) or not path.strip():
        raise web.HTTPError(400, f'give "path": {HINT}')
    real = workspace_path(root, path, kind="file", use="made actions", hint=HINT)
    if not path.endswith(".ipynb"):
        raise web.HTTPError(400, f"{path} is not a notebook (.ipynb): {HINT}")
    try:
        with real.open("rb") as file:
            data = file.read(MAX_NOTEBOOK_BYTES + 1)
    except (FileNotFoundError, IsADirectoryError):
        raise web.HTTPError(404, f"there is no notebook {path} in the workspace") from None
    return posixpath.normpath(path), data.decode("utf-8", errors="replace")


def project_text(root: Path) -> str:
    """The checkout's project.yaml ('' when there is none yet)."""
    hint = f"keep {PROJECT} a file of the workspace"
    try:
        with workspace_path(root, PROJECT, kind="file", use="used", hint=hint).open(
            encoding="utf-8"
        ) as file:
            return file.read(MAX_CHARACTERS + 1)
    except FileNotFoundError:
        return ""
    except (OSError, UnicodeDecodeError) as exc:
        raise web.HTTPError(422, f"{PROJECT} cannot be read: {exc}") from None


def _jsonable(value: Any) -> Any:
    """A default as JSON (a tuple becomes a list; a set or bytes, their Python text)."""
    return json.loads(json.dumps(value, default=repr))


def _problems(text: str) -> tuple[Pipeline | None, list[dict]]:
    if not text.strip():
        return None, []
    pipeline, problems, _ = check_pipeline(text, PROJECT)
    return pipeline, [p.to_json() for p in problems]


class NotebookActionHandler(Base):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        root = Path(self.ext.root_dir).resolve()
        path, text = notebook_file(root, self.get_argument("path", ""))
        try:
            info = read_notebook(text, path)
        except NotebookError as exc:
            raise web.HTTPError(422, str(exc)) from None
        old = project_text(root)
        pipeline, problems = _problems(old)
        actions = notebook_actions(pipeline, path) if pipeline is not None else []
        answer: dict[str, Any] = {
            "path": path,
            "is_action": bool(actions),
            "actions": [
                {
                    "name": a.name,
                    "run": a.run.raw,
                    "needs": list(a.needs),
                    "config": _jsonable(dict(a.config or {})),
                    "outputs": a.outputs.to_json(),
                }
                for a in actions
            ],
            "parameters": [
                {"name": p.name, "default": _jsonable(p.default), "kind": p.kind}
                for p in info.parameters.values()
            ],
            "has_parameters_cell": info.has_parameters_cell,
            "problems": problems,
            "proposal": None,
        }
        if not actions:
            found = notebook_files(code_cells(json.loads(text)), posixpath.dirname(path))
            proposal = propose(pipeline, path, found)
            if problems:
                proposal["notes"].insert(
                    0, f"{PROJECT} has problems now: fix them first ({problems[0]['message']})"
                )
            name, entry = entry_from(proposal, path)
            answer["proposal"] = {**proposal, **change_of(old, name, entry).shown}
        self.write_json(answer)

    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.get_json_body() or {}
        root = Path(self.ext.root_dir).resolve()
        path, text = notebook_file(root, body.get("path"))
        try:
            read_notebook(text, path)
            name, entry = entry_from(body, path)
        except (NotebookError, ValueError) as exc:
            raise web.HTTPError(400, str(exc)) from None
        old = project_text(root)
        pipeline, _ = _problems(old)
        if pipeline is not None and (already := notebook_actions(pipeline, path)):
            raise web.HTTPError(409, f"{path} is the action {already[0].name} of {PROJECT} already")
        if pipeline is not None and name in pipeline.actions:
            raise web.HTTPError(409, f"{PROJECT} has an action {name} already: choose another name")
        change = change_of(old, name, entry)
        if change.refusal:
            raise web.HTTPError(change.status, change.refusal)
        written = not body.get("dry_run")
        if written:
            write_whole(
                workspace_path(root, PROJECT, kind="file", use="used", hint=""), change.text
            )
        self.write_json({"name": name, "file": PROJECT, "written": written, **change.shown})


@dataclass
class Change:
    """What adding an entry does to project.yaml: the new text and diff, or why not."""

    text: str | None
    diff: str | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    status: int = 422  # the answer a refusal gets

    @property
    def refusal(self) -> str | None:
        return self.problems[0] if self.problems else None

    @property
    def shown(self) -> dict[str, Any]:
        valid = self.text is not None and not self.problems
        return {
            "diff": self.diff,
            "valid": valid,
            "problems": self.problems,
            "warnings": self.warnings,
        }


def change_of(old: str, name: str, entry: dict[str, Any]) -> Change:
    try:
        new = add_action(old, name, entry)
    except ProjectYamlError as exc:
        return Change(None, problems=[str(exc)], status=409 if "already" in str(exc) else 422)
    _, problems, warnings = check_pipeline(new, PROJECT)
    said = [
        f"{PROJECT} would not be valid with this action: {p.message}"
        + (f" (line {p.line})" if p.line else "")
        for p in problems
    ]
    return Change(new, unified_diff(old, new, PROJECT), said, [w.message for w in warnings])


def write_whole(path: Path, text: str) -> None:
    """`text` as the file's content at once: a reader sees the old file or the new, never half."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        else:
            os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
