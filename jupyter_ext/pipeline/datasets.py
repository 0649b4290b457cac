"""Which datasets each action reads: `datasets.yaml`, beside project.yaml.

The official parser refuses any key it does not know in project.yaml, so a project says
this in a file of its own and stays valid for the official tools::

    version: 1
    actions:
      generate_dataset: [primary-care]     # the latest version the project may use
      derive_measures:
        - primary-care@2                   # exactly version 2

A repository without the file reads no dataset. Problems are reported like project.yaml's:
with line, column and key path, saying what to change.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .problems import Problem, ProjectValidationError
from .yaml_loader import YAMLSyntaxError, parse_yaml

DATASETS_FILE = "datasets.yaml"
# A dataset's name becomes a folder on the site: this is stricter than `names.SAFE_NAME`
USE = re.compile(r"^(?P<name>[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)(?:@(?P<version>[1-9]\d{0,8}))?$")


@dataclass(frozen=True, slots=True)
class DatasetUse:
    name: str
    version: int | None  # None: the latest version the project may use

    def __str__(self) -> str:
        return self.name if self.version is None else f"{self.name}@{self.version}"


def load_dataset_uses(
    text: str, actions: Iterable[str], filename: str = DATASETS_FILE
) -> dict[str, tuple[DatasetUse, ...]]:
    """Each action's datasets; raise `ProjectValidationError` listing every problem."""
    try:
        doc = parse_yaml(text)
    except YAMLSyntaxError as exc:
        raise ProjectValidationError([exc.problem()], filename) from None
    problems: list[Problem] = []

    def problem(code: str, message: str, path: tuple[Any, ...], key: bool = False) -> None:
        where = doc.locate(path, key=key) or (None, None)
        problems.append(Problem(code, message, path, *where))

    data = doc.data
    uses: dict[str, tuple[DatasetUse, ...]] = {}
    if not isinstance(data, dict):
        problem("not-a-mapping", "the file must be a mapping with `version: 1` and `actions`", ())
        raise ProjectValidationError(problems, filename)
    for key in data:
        if key not in ("version", "actions"):
            problem(
                "unknown-key",
                f"unknown key {key!r}: only `version` and `actions` are read",
                (key,),
                key=True,
            )
    if data.get("version") != 1:
        problem("version", "`version` must be 1", ("version",))
    known = list(actions)
    given = data.get("actions")
    if not isinstance(given, dict):
        problem("actions", "`actions` must map action names to lists of datasets", ("actions",))
        given = {}
    for action, listed in given.items():
        path = ("actions", action)
        if action not in known:
            close = difflib.get_close_matches(str(action), known, n=1)
            hint = f": did you mean {close[0]!r}?" if close else ": it is not in project.yaml"
            problem("unknown-action", f"there is no action {action!r}{hint}", path, key=True)
            continue
        if not isinstance(listed, list):
            problem("not-a-list", "list the action's datasets, e.g. `[primary-care]`", path)
            continue
        found: list[DatasetUse] = []
        for index, item in enumerate(listed):
            match = USE.match(item) if isinstance(item, str) else None
            if match is None:
                message = (
                    f"{item!r} is not a dataset: write a name such as `primary-care`, "
                    "or `primary-care@2` for one version"
                )
                problem("dataset-name", message, (*path, index))
                continue
            use = DatasetUse(match["name"], int(match["version"]) if match["version"] else None)
            if any(u.name == use.name for u in found):
                problem("duplicate", f"{use.name} is listed twice for {action}", (*path, index))
                continue
            found.append(use)
        uses[action] = tuple(found)
    if problems:
        raise ProjectValidationError(
            sorted(problems, key=lambda p: (p.line is None, p.line or 0, p.column or 0)), filename
        )
    return uses
