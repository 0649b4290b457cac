"""The parsed pipeline: immutable values that every room of jupyter-ext shares."""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from .problems import Problem

RUN_ALL = "run_all"
LATEST_VERSION = 5
PRIVACY_LEVELS = ("highly_sensitive", "moderately_sensitive", "minimally_sensitive")

# Images whose commands read the database (as the official job runner decides):
# image -> the commands that do, or "*" for every command.
DATABASE_COMMANDS: Mapping[str, tuple[str, ...] | str] = MappingProxyType(
    {
        "ehrql": ("generate-dataset", "generate-measures"),
        "sqlrunner": "*",
        "cohortextractor": ("generate_cohort", "generate_codelist_report"),
        "databuilder": ("generate-dataset",),
    }
)


@dataclass(frozen=True, slots=True)
class Run:
    """An action's `run:` string, split like a shell would: `image:version arg...`."""

    raw: str
    image: str
    version: str
    args: tuple[str, ...]

    @classmethod
    def parse(cls, raw: str) -> Run:
        """Split a run string; raises ValueError for unbalanced quotes or an empty string."""
        parts = shlex.split(raw)
        if not parts:
            raise ValueError("run is empty")
        image, _, version = parts[0].partition(":")
        return cls(raw, image, version, tuple(parts[1:]))

    @property
    def parts(self) -> list[str]:
        return [f"{self.image}:{self.version}" if self.version else self.image, *self.args]

    @property
    def is_database_action(self) -> bool:
        commands = DATABASE_COMMANDS.get(self.image)
        if commands is None:
            return False
        return commands == "*" or (bool(self.args) and self.args[0] in commands)


@dataclass(frozen=True, slots=True)
class Outputs:
    """Declared output patterns by privacy level: `{level: {output name: pattern}}`."""

    by_level: Mapping[str, Mapping[str, str]]

    def __iter__(self) -> Iterator[tuple[str, str, str]]:
        """Yield (privacy level, output name, pattern) for every declared output."""
        for level, outputs in self.by_level.items():
            for name, pattern in outputs.items():
                yield level, name, pattern

    def patterns(self, level: str | None = None) -> list[str]:
        return [p for lvl, _, p in self if level is None or lvl == level]

    def to_json(self) -> dict[str, dict[str, str]]:
        return {level: dict(outputs) for level, outputs in self.by_level.items()}


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    run: Run
    needs: tuple[str, ...]
    outputs: Outputs
    config: Mapping[str, Any] | None = None
    dummy_data_file: str | None = None
    line: int | None = None  # where the action starts in the file, for editors

    def to_json(self) -> dict[str, Any]:
        return {
            "needs": list(self.needs),
            "run": {
                "raw": self.run.raw,
                "image": self.run.image,
                "version": self.run.version,
                "args": list(self.run.args),
            },
            "outputs": self.outputs.to_json(),
            "config": self.config,
            "dummy_data_file": self.dummy_data_file,
            "is_database_action": self.run.is_database_action,
            "line": self.line,
        }


@dataclass(frozen=True, slots=True)
class Pipeline:
    """A valid pipeline. `actions` keeps the file's order; `warnings` are non-fatal problems."""

    version: float
    actions: Mapping[str, Action]
    population_size: int | None = None
    warnings: tuple[Problem, ...] = field(default=())

    @property
    def all_actions(self) -> list[str]:
        """What `run_all` runs: every action but one literally named `run_all` (old versions)."""
        return [name for name in self.actions if name != RUN_ALL]

    @property
    def images(self) -> set[str]:
        """Every `image:version` used; `latest` means v1, as the official tools decide."""
        return {
            f"{a.run.image}:{'v1' if a.run.version == 'latest' else a.run.version}"
            for a in self.actions.values()
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "population_size": self.population_size,
            "actions": {name: action.to_json() for name, action in self.actions.items()},
            "warnings": [w.to_json() for w in self.warnings],
        }
