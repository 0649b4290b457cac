"""What a YAML file may cost, and the errors that refuse a file (not YAML, or over a limit).

A repository is hostile until shown otherwise, so what a file may cost is
bounded before anything else reads it: its size, how deep its values nest,
and how much its aliases repeat (a "billion laughs" file is a few hundred
bytes that stand for gigabytes once printed or sent). A value that contains
itself through an alias is refused too: nothing downstream can print it.
The limits live here, apart from the readers that enforce them, so the job
server, the server extension and the CLI can quote them without a parser.
"""

from __future__ import annotations

from typing import Any

from .problems import Problem

__all__ = [
    "MAX_ALIAS_EXPANSION",
    "MAX_CHARACTERS",
    "MAX_DEPTH",
    "YAMLLimitError",
    "YAMLSyntaxError",
]

MAX_CHARACTERS = 5_000_000  # the largest real project.yaml we know has about 1,000,000
MAX_DEPTH = 100  # the official parser itself crashes past about 240
MAX_ALIAS_EXPANSION = 1_000_000  # values and characters that aliases may repeat, in all


class YAMLSyntaxError(ValueError):
    """The text is not YAML; `line` and `column` are 1-based."""

    code = "yaml-syntax"
    lead = "not valid YAML: "

    def __init__(self, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column

    def problem(self) -> Problem:
        return Problem(self.code, self.lead + self.message, (), self.line, self.column)


class YAMLLimitError(YAMLSyntaxError):
    """YAML, but too big, too deep or too repetitive to read safely."""

    code = "yaml-limit"
    lead = ""

    @classmethod
    def at(cls, message: str, mark: Any) -> YAMLLimitError:
        return cls(message, mark.line + 1, mark.column + 1)
