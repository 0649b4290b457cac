"""Check an action's `outputs:`: privacy levels, safe names, well-formed paths.

Also the outputs that the official tools check against a command's arguments
(cohortextractor's `generate_cohort`, ehrQL's `generate-dataset`/`-measures`):
a mismatch there only shows when the job runs, so it is refused up front.
"""

from __future__ import annotations

import re
from typing import Any

from .models import PRIVACY_LEVELS, Outputs, Run
from .names import SAFE_NAME, SAFE_NAME_RULE, is_safe_output_name, safe_name_like, shown
from .outputs import pattern_problems, well_formed_pattern
from .validation_report import Reporter, suggest

__all__ = ["CHECKED_IMAGES", "OutputChecks"]

LEVEL_SET = frozenset(PRIVACY_LEVELS)
CHECKED_IMAGES = frozenset({"cohortextractor", "ehrql", "databuilder"})  # outputs vs. arguments
COHORT_COMMAND = re.compile(r"cohortextractor:\S+ generate_cohort")
EHRQL_COMMAND = re.compile(r"(ehrql|databuilder):\S+ generate[-_](?P<kind>dataset|measures)")
_SAFE_NAME = SAFE_NAME.fullmatch  # bound once: it runs per action and per output


class OutputChecks(Reporter):
    """The checks of one action's `outputs`, alone and against its command."""

    def check_outputs(self, outputs: Any, action_path: tuple) -> Outputs | None:
        path = (*action_path, "outputs")
        if type(outputs) is not dict:
            self.expect(outputs, dict, path, "`outputs`")
            return None
        ok = True
        for key in outputs if outputs.keys() - LEVEL_SET else ():
            if key not in LEVEL_SET:
                self.error(
                    "unknown-key",
                    f"unknown privacy level `{key}`: use {', '.join(PRIVACY_LEVELS)}"
                    + suggest(key, PRIVACY_LEVELS),
                    (*path, key),
                    at_key=True,
                )
                ok = False
        by_level = {
            level: outputs[level] for level in PRIVACY_LEVELS if outputs.get(level) is not None
        }
        if not by_level:
            self.error(
                "missing-outputs",
                f"declare at least one output under {', '.join(PRIVACY_LEVELS)}",
                path,
            )
            return None
        for level, named in by_level.items():
            if type(named) is not dict:
                self.expect(named, dict, (*path, level), f"`{level}`")
                ok = False
                continue
            well_formed = well_formed_pattern(level)
            for output, pattern in named.items():
                if (type(output) is not str or _SAFE_NAME(output) is None) and (
                    not is_safe_output_name(str(output))
                ):
                    self.error(
                        "bad-output-name",
                        f"the output name `{shown(str(output))}` is not safe as a file name "
                        f"on the site: {SAFE_NAME_RULE} (single spaces inside are allowed); "
                        f"rename it, e.g. to `{safe_name_like(str(output))}`",
                        (*path, level, output),
                        at_key=True,
                    )
                    ok = False
                if type(pattern) is str and well_formed(pattern):
                    continue
                where = (*path, level, output)
                if self.expect(pattern, str, where, f"output `{output}`"):
                    for problem in pattern_problems(pattern, level):
                        self.error("bad-output-path", f"output path `{pattern}` {problem}", where)
                        ok = False
                else:
                    ok = False
        return Outputs(by_level) if ok else None

    def check_command_outputs(self, name: str, run: Run, outputs: Outputs, path: tuple) -> None:
        """Commands whose outputs the official tools check against their arguments."""
        if COHORT_COMMAND.match(run.raw):
            if len(outputs.by_level) != 1:
                self.error(
                    "bad-outputs",
                    f"a `generate_cohort` action must have outputs at exactly one privacy "
                    f"level; `{name}` has {len(outputs.by_level)}",
                    (*path, "outputs"),
                )
            folders = {p.rpartition("/")[0] for p in outputs.patterns()}
            explicit = any(a == "--output-dir" or a.startswith("--output-dir=") for a in run.args)
            if len(folders) > 1 and not explicit:
                self.error(
                    "bad-outputs",
                    "generate_cohort writes to one folder, but the outputs are in "
                    f"{len(folders)} ({', '.join(sorted(f + '/' for f in folders))}): "
                    "use one folder or pass --output-dir",
                    (*path, "outputs"),
                )
        if match := EHRQL_COMMAND.match(run.raw):
            self.check_ehrql_outputs(name, run, outputs, match["kind"], path)

    def check_ehrql_outputs(
        self, name: str, run: Run, outputs: Outputs, kind: str, path: tuple
    ) -> None:
        if kind == "dataset" and set(outputs.by_level) - {"highly_sensitive"}:
            self.error(
                "bad-outputs",
                f"`{name}` uses generate-dataset, so every output must be highly_sensitive",
                (*path, "outputs"),
            )
        spec = None
        parts = run.parts
        for switch, value in zip(parts, [*parts[1:], ""], strict=True):
            if switch == "--output":
                spec = value
                break
            if switch.startswith("--output="):
                spec = switch.removeprefix("--output=")
                break
        if not spec:
            self.error(
                "bad-outputs",
                f"`{name}` needs an `--output` argument saying where generate-{kind} writes",
                (*path, "run"),
            )
            return
        levels = (
            ("highly_sensitive",)
            if kind == "dataset"
            else ("highly_sensitive", "moderately_sensitive")
        )
        declared = [p for level in levels for p in outputs.patterns(level)]
        if not _patterns_match_spec(spec, declared):
            self.error(
                "bad-outputs",
                f"the outputs ({', '.join(declared) or 'none'}) must match the `--output` "
                f"argument: expected {_expected_pattern(spec)}",
                (*path, "outputs"),
            )


def _split_directory_and_extension(spec: str) -> tuple[str, str]:
    directory, _, name = spec.rpartition("/")
    stem, colon, extension = name.rpartition(":")
    if not colon:
        return spec, ""
    if not stem:
        return directory or ".", f".{extension}"
    return (f"{directory}/{stem}" if directory else stem), f".{extension}"


def _patterns_match_spec(spec: str, patterns: list[str]) -> bool:
    from fnmatch import fnmatch

    directory, extension = _split_directory_and_extension(spec)
    if extension:
        return all(fnmatch(p, f"{directory}/*{extension}") for p in patterns)
    return spec in patterns


def _expected_pattern(spec: str) -> str:
    directory, extension = _split_directory_and_extension(spec)
    return f"{directory}/*{extension}" if extension else spec
