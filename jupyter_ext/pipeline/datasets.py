"""Which datasets each action reads: `datasets.yaml`, beside project.yaml.

The official parser refuses any key it does not know in project.yaml, so a project says
this in a file of its own and stays valid for the official tools::

    version: 1
    actions:
      generate_dataset: [primary-care]     # the latest version the project may use
      derive_measures:
        - primary-care@2                   # exactly version 2

A repository without the file reads no dataset. Problems are reported like project.yaml's
(see `action_files`): with line, column and key path, saying what to change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .action_files import Report, read_action_file

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
    return read_action_file(text, actions, filename, "lists of datasets", _read_uses)


def _read_uses(listed: Any, path: tuple[Any, ...], report: Report) -> tuple[DatasetUse, ...]:
    if not isinstance(listed, list):
        report("not-a-list", "list the action's datasets, e.g. `[primary-care]`", path)
        return ()
    found: list[DatasetUse] = []
    for index, item in enumerate(listed):
        match = USE.match(item) if isinstance(item, str) else None
        if match is None:
            message = (
                f"{item!r} is not a dataset: write a name such as `primary-care`, "
                "or `primary-care@2` for one version"
            )
            report("dataset-name", message, (*path, index))
            continue
        use = DatasetUse(match["name"], int(match["version"]) if match["version"] else None)
        if any(u.name == use.name for u in found):
            report("duplicate", f"{use.name} is listed twice for {path[-1]}", (*path, index))
            continue
        found.append(use)
    return tuple(found)
