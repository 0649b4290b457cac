"""The frame of a file beside project.yaml that says more of each action.

The official parser refuses any key it does not know in project.yaml, so what this project adds
per action lives in files of its own (`datasets.yaml`, `resources.yaml`), each shaped::

    version: 1
    actions:
      <action>: <what this file says of it>

This module reads the frame (the YAML, `version`, the action names, each checked against
project.yaml with a suggestion for a misspelt one) and hands each action's entry to the file's
own reader. Problems are reported as project.yaml's are: with line, column and key path.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from .problems import Problem, ProjectValidationError
from .yaml_loader import YAMLSyntaxError, parse_yaml

T = TypeVar("T")
# Reports one problem: its code, its message, the key path; key=True points at the key itself
Report = Callable[..., None]
# Reads one action's entry: (value, key path, report) -> what it says, or None after reporting
EntryReader = Callable[[Any, tuple[Any, ...], Report], T | None]


def read_action_file(
    text: str, actions: Iterable[str], filename: str, entry_shape: str, read_entry: EntryReader
) -> dict[str, T]:
    """Each listed action's entry, as `read_entry` reads it; raise `ProjectValidationError`
    listing every problem of the file. `entry_shape` says what an entry is, for the message of
    a file whose `actions` is not a mapping."""
    try:
        doc = parse_yaml(text)
    except YAMLSyntaxError as exc:
        raise ProjectValidationError([exc.problem()], filename) from None
    problems: list[Problem] = []

    def report(code: str, message: str, path: tuple[Any, ...], key: bool = False) -> None:
        where = doc.locate(path, key=key) or (None, None)
        problems.append(Problem(code, message, path, *where))

    data = doc.data
    read: dict[str, T] = {}
    if not isinstance(data, dict):
        report("not-a-mapping", "the file must be a mapping with `version: 1` and `actions`", ())
        raise ProjectValidationError(problems, filename)
    for key in data:
        if key not in ("version", "actions"):
            message = f"unknown key {key!r}: only `version` and `actions` are read"
            report("unknown-key", message, (key,), key=True)
    if data.get("version") != 1:
        report("version", "`version` must be 1", ("version",))
    known = list(actions)
    given = data.get("actions")
    if not isinstance(given, dict):
        report("actions", f"`actions` must map action names to {entry_shape}", ("actions",))
        given = {}
    for action, value in given.items():
        path = ("actions", action)
        if action not in known:
            close = difflib.get_close_matches(str(action), known, n=1)
            hint = f": did you mean {close[0]!r}?" if close else ": it is not in project.yaml"
            report("unknown-action", f"there is no action {action!r}{hint}", path, key=True)
            continue
        entry = read_entry(value, path, report)
        if entry is not None:
            read[action] = entry
    if problems:
        raise ProjectValidationError(
            sorted(problems, key=lambda p: (p.line is None, p.line or 0, p.column or 0)), filename
        )
    return read
