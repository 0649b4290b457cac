"""Turn project.yaml text into a `Pipeline`, reporting every problem at once.

The verdict (valid or not) is the official parser's (opensafely 2.1.1), with
deliberate differences, each a file the official tools cannot run or that
would harm the site: where the official parser crashes, we give a clean error;
a cycle in `needs` (the official job runner recurses until it crashes) is an
error; so is an action name that is not a string, a name that is not safe as
one path component (`names.py`), an output path that starts with `..` or
holds a control character, and YAML that is too big, too deep or expands
through aliases (`yaml_limits.py`).

This module checks the whole file (its keys, `version`, `expectations`); the
checks of the actions are mixins in their own modules, each building on the
one below: `validation_report` (where problems go) <- `validation_runs`,
`validation_outputs` <- `validation_actions` <- `_Validator` here.
"""

from __future__ import annotations

from ._gc import gc_paused
from .models import LATEST_VERSION, Pipeline
from .problems import Problem, ProjectValidationError
from .validation_actions import ActionChecks
from .validation_report import describe, suggest
from .validation_runs import split_run as split_run  # importable from here, as before
from .versions import Features, features, parse_version
from .yaml_loader import YAMLSyntaxError, parse_yaml

__all__ = ["check_pipeline", "load_pipeline"]

PROJECT_KEYS = ("version", "actions", "expectations")


def load_pipeline(text: str, filename: str = "project.yaml") -> Pipeline:
    """Parse and validate; raise `ProjectValidationError` listing every problem."""
    pipeline, problems, warnings = check_pipeline(text, filename)
    if pipeline is None:
        raise ProjectValidationError(problems, filename, warnings)
    return pipeline


def check_pipeline(
    text: str, filename: str = "project.yaml"
) -> tuple[Pipeline | None, list[Problem], list[Problem]]:
    """(pipeline or None, errors, warnings), without raising: for editors and the CLI."""
    with gc_paused():
        try:
            doc = parse_yaml(text)
        except YAMLSyntaxError as exc:
            return None, [exc.problem()], []
        validator = _Validator(doc)
        pipeline = validator.run()
    return (
        None if validator.problems else pipeline,
        _in_file_order(validator.problems),
        _in_file_order(validator.warnings),
    )


def _in_file_order(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0, p.column or 0))


class _Validator(ActionChecks):
    """The whole file: its top-level keys, `version` and `expectations` (the actions
    are `ActionChecks`'s)."""

    def run(self) -> Pipeline | None:
        for dup in self.doc.duplicate_keys:
            where = f"{dup.path[-1]!s} " if dup.path else ""
            self.problems.append(
                Problem(
                    "duplicate-key",
                    f"`{dup.key}` appears twice in {where or 'the file'}(first on line "
                    f"{dup.first_line}): remove or rename one",
                    (*dup.path, dup.key),
                    dup.line,
                    dup.column,
                )
            )
        data = self.doc.data
        if not isinstance(data, dict):
            self.error(
                "not-a-mapping",
                "a project file must be a mapping with `version` and `actions` keys, "
                f"not {describe(data)}",
            )
            return None
        for key in data:
            if key not in PROJECT_KEYS:
                self.error(
                    "unknown-key",
                    f"unknown key `{key}`: a project has only version, actions and "
                    f"expectations{suggest(key, PROJECT_KEYS)}"
                    + (
                        " (is an action indented too little?)"
                        if isinstance(data[key], dict)
                        else ""
                    ),
                    (key,),
                    at_key=True,
                )
        version, version_problem = parse_version(data.get("version"))
        if version_problem:
            self.error("bad-version", version_problem, ("version",), at_key="version" not in data)
        elif version != LATEST_VERSION:
            self.warn(
                "old-version",
                f"version {data['version']} is old: current official tools require version "
                f'{LATEST_VERSION} (set version: "{LATEST_VERSION}"; it drops cohortextractor, '
                "`expectations`, `:latest` images and a `run_all` action)",
                ("version",),
            )
        feats = features(version) if version is not None else None
        actions = self.check_actions(data.get("actions"), feats)
        population_size = self.check_expectations(data, feats)
        if self.problems or actions is None:
            return None
        return Pipeline(version, actions, population_size, tuple(self.warnings))  # type: ignore[arg-type]

    def check_expectations(self, data: dict, feats: Features | None) -> int | None:
        if feats is None:
            return None
        expectations = data.get("expectations")
        path = ("expectations",)
        if feats.no_cohortextractor:
            if expectations is not None:
                self.error(
                    "expectations-not-allowed",
                    "`expectations` belongs to cohortextractor, which this version does not "
                    "support: remove the section",
                    path,
                    at_key=True,
                )
            return None
        if not feats.expectations_required:
            return 1000  # versions 1 and 2 ignore the section and use this
        if expectations is None:
            self.error(
                "missing-expectations",
                "version 3 needs `expectations:` with `population_size: 1000` (or move to "
                f'version "{LATEST_VERSION}", which does not)',
                path,
            )
            return None
        if not self.expect(expectations, dict, path, "`expectations`"):
            return None
        for key in expectations:
            if key != "population_size":
                self.error(
                    "unknown-key",
                    f"unknown key `{key}` in expectations: only population_size is allowed",
                    (*path, key),
                    at_key=True,
                )
        if "population_size" not in expectations:
            self.error("missing-key", "`expectations` needs a `population_size`", path)
            return None
        try:
            return int(expectations["population_size"])
        except (TypeError, ValueError):
            self.error(
                "wrong-type",
                "`population_size` must be a whole number, like 1000",
                (*path, "population_size"),
            )
            return None
