"""Collect a validator's errors and warnings, each with its line and column.

Every check of the validation mixins reports through `error()`, `warn()` and
`expect()` here, so a problem's position is found one way, and only once it is
reported: the common, valid file never asks for a position.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

from .problems import Problem
from .yaml_positions import YAMLDocument

__all__ = ["Reporter", "describe", "suggest"]


def suggest(word: Any, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.75)
    return f"; did you mean `{close[0]}`?" if close else ""


def describe(value: Any) -> str:
    names = {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "true/false",
        type(None): "empty",
    }
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return f"the number {value}" if isinstance(value, int | float) else type(value).__name__


class Reporter:
    """The base of the validator: the document, and the problems found in it so far."""

    def __init__(self, doc: YAMLDocument) -> None:
        self.doc = doc
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, code: str, message: str, path: tuple = (), *, at_key: bool = False) -> None:
        self.problems.append(self._problem(code, message, path, at_key, "error"))

    def warn(self, code: str, message: str, path: tuple = (), *, at_key: bool = False) -> None:
        self.warnings.append(self._problem(code, message, path, at_key, "warning"))

    def _problem(
        self, code: str, message: str, path: tuple, at_key: bool, severity: Any
    ) -> Problem:
        line, column = self.doc.locate(path, key=at_key) or (None, None)
        return Problem(code, message, path, line, column, severity)

    def expect(
        self, value: Any, kind: type, path: tuple, what: str, optional: bool = False
    ) -> bool:
        if (optional and value is None) or isinstance(value, kind):
            return True
        self.error("wrong-type", f"{what} must be {describe(kind())}, not {describe(value)}", path)
        return False
