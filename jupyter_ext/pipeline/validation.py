"""Turn project.yaml text into a `Pipeline`, reporting every problem at once.

The verdict (valid or not) is the official parser's (opensafely 2.1.1), with
deliberate differences, each a file the official tools cannot run or that
would harm the site: where the official parser crashes, we give a clean error;
a cycle in `needs` (the official job runner recurses until it crashes) is an
error; so is an action name that is not a string, a name that is not safe as
one path component (`names.py`), an output path that starts with `..` or
holds a control character, and YAML that is too big, too deep or expands
through aliases (`yaml_loader.py`).
"""

from __future__ import annotations

import difflib
import re
import shlex
from collections.abc import Iterable
from typing import Any

from ._gc import gc_paused
from .graph import find_cycles
from .models import LATEST_VERSION, PRIVACY_LEVELS, RUN_ALL, Action, Outputs, Pipeline, Run
from .names import (
    SAFE_NAME,
    SAFE_NAME_RULE,
    is_safe_name,
    is_safe_output_name,
    safe_name_like,
    shown,
)
from .outputs import pattern_problems, well_formed_pattern
from .problems import Problem, ProjectValidationError
from .versions import Features, features, parse_version
from .yaml_loader import YAMLDocument, YAMLSyntaxError, parse_yaml

__all__ = ["check_pipeline", "load_pipeline"]

PROJECT_KEYS = ("version", "actions", "expectations")
ACTION_KEYS = ("run", "outputs", "needs", "config", "dummy_data_file")
ACTION_KEY_SET = frozenset(ACTION_KEYS)
MISSING_ACTION_KEY_HINTS = {
    "run": "add the image and command, like `run: python:v2 analysis/model.py`",
    "outputs": "add `outputs:` with at least one file under a privacy level",
}
LEVEL_SET = frozenset(PRIVACY_LEVELS)
_CHECKED_IMAGES = frozenset({"cohortextractor", "ehrql", "databuilder"})
VERSION_TAG = re.compile(r"^((v[\d.]+(-pre)?)|dev|latest)$")
COHORT_COMMAND = re.compile(r"cohortextractor:\S+ generate_cohort")
EHRQL_COMMAND = re.compile(r"(ehrql|databuilder):\S+ generate[-_](?P<kind>dataset|measures)")
_SHELL_SPECIAL = re.compile(r"""['"\\]""")
_SHELL_WORD = re.compile(r"[^ \t\r\n]+")
_SAFE_NAME = SAFE_NAME.fullmatch  # bound once: it runs per action and per output


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


def _suggest(word: Any, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(str(word), list(choices), n=1, cutoff=0.75)
    return f"; did you mean `{close[0]}`?" if close else ""


def _describe(value: Any) -> str:
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


def split_run(raw: str) -> list[str]:
    """`shlex.split`, with a fast path for the common run string without quotes."""
    if _SHELL_SPECIAL.search(raw) is None:
        return _SHELL_WORD.findall(raw)
    return shlex.split(raw)


class _Validator:
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
        self.error(
            "wrong-type", f"{what} must be {_describe(kind())}, not {_describe(value)}", path
        )
        return False

    # -- the document ------------------------------------------------------

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
                f"not {_describe(data)}",
            )
            return None
        for key in data:
            if key not in PROJECT_KEYS:
                self.error(
                    "unknown-key",
                    f"unknown key `{key}`: a project has only version, actions and "
                    f"expectations{_suggest(key, PROJECT_KEYS)}"
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

    # -- actions -----------------------------------------------------------

    def check_actions(self, actions: Any, feats: Features | None) -> dict[str, Action] | None:
        if not self.expect(actions, dict, ("actions",), "`actions`"):
            return None
        built: dict[str, Action] = {}
        runs: dict[str, str] = {}
        outputs_seen: dict[str, tuple[str, str, str]] = {}
        for name, spec in actions.items():
            path = ("actions", name)
            if not isinstance(name, str):
                self.error(
                    "bad-action-name",
                    f"the action name {name} is read as {_describe(name)}: quote it "
                    f"('{name}') or start it with a letter, so it can be requested by name",
                    path,
                    at_key=True,
                )
                continue
            if _SAFE_NAME(name) is None:
                self.error(
                    "bad-action-name",
                    f"the action name `{shown(name)}` is not safe as a file name on the site: "
                    f"{SAFE_NAME_RULE}; rename it (e.g. to `{safe_name_like(name)}`) here and "
                    "in every `needs` that names it",
                    path,
                    at_key=True,
                )
            if name == RUN_ALL and feats is not None:
                message = "`run_all` is a reserved name (it runs every action): rename this action"
                if feats.no_run_all_action:
                    self.error("reserved-name", message, path, at_key=True)
                else:
                    self.warn("reserved-name", message + "; older versions ignore it", path)
            action = self.check_action(name, spec, path, feats)
            if action is None:
                continue
            built[name] = action
            if (first := runs.setdefault(action.run.raw, name)) != name:
                self.error(
                    "duplicate-run",
                    f"the same `run` as action `{first}`: two actions would do the same work; "
                    "remove one or make them differ",
                    (*path, "run"),
                )
            if feats is not None and feats.unique_output_paths:
                for level, output, pattern in _declared(action.outputs):
                    owner = outputs_seen.setdefault(pattern, (name, level, output))
                    if owner != (name, level, output):
                        first = "this action" if owner[0] == name else f"action `{owner[0]}`"
                        self.error(
                            "duplicate-output",
                            f"`{pattern}` is already an output of {first}: declare each file once",
                            (*path, "outputs", level, output),
                        )
        self.check_needs(actions, built)
        return built

    def check_action(self, name: str, spec: Any, path: tuple, feats: Features | None):
        # the common, valid case builds no message and no key path: they are made on failure
        if type(spec) is not dict:
            self.expect(spec, dict, path, f"action `{name}`")
            return None
        for key in spec if spec.keys() - ACTION_KEY_SET else ():
            if key not in ACTION_KEY_SET:
                self.error(
                    "unknown-key",
                    f"unknown key `{key}` in action `{name}`: an action has "
                    f"{', '.join(ACTION_KEYS)}{_suggest(key, ACTION_KEYS)}",
                    (*path, key),
                    at_key=True,
                )
        if "run" not in spec or "outputs" not in spec:
            for key, hint in MISSING_ACTION_KEY_HINTS.items():
                if key not in spec:
                    self.error(
                        "missing-key", f"action `{name}` has no `{key}`: {hint}", path, at_key=True
                    )
        run = self.check_run(spec["run"], (*path, "run"), feats) if "run" in spec else None
        outputs = self.check_outputs(spec["outputs"], path) if "outputs" in spec else None
        needs = spec.get("needs")
        if needs is not None and type(needs) is not list:
            self.expect(needs, list, (*path, "needs"), "`needs`")
            needs = None
        elif needs and not all(type(n) is str and " " not in n for n in needs):
            for i, need in enumerate(needs):
                if not isinstance(need, str):
                    self.error(
                        "bad-need",
                        f"`needs` lists action names; {need} is read as {_describe(need)}: "
                        f"quote it ('{need}')",
                        (*path, "needs", i),
                    )
                elif " " in need.strip():
                    self.error(
                        "bad-need",
                        f"`{need}` looks like several actions: separate them with commas, "
                        f"as [{', '.join(need.split())}]",
                        (*path, "needs", i),
                    )
        config, dummy = spec.get("config"), spec.get("dummy_data_file")
        if config is not None and type(config) is not dict:
            self.expect(config, dict, (*path, "config"), "`config`")
        if dummy is not None and type(dummy) is not str:
            self.expect(dummy, str, (*path, "dummy_data_file"), "`dummy_data_file`")
        if run is None or outputs is None:
            return None
        if run.image in _CHECKED_IMAGES:
            self.check_command_outputs(name, run, outputs, path)
        needs = tuple(needs) if needs else ()
        return Action(name, run, needs, outputs, config, dummy, self.doc.key_line(path))

    def check_run(self, raw: Any, path: tuple, feats: Features | None) -> Run | None:
        if type(raw) is not str:
            self.expect(raw, str, path, "`run`")
            return None
        example = "python:v2 analysis/model.py"
        try:
            parts = split_run(raw)
        except ValueError as exc:
            self.error(
                "bad-run", f"`run` cannot be split into words ({exc}): close the quote", path
            )
            return None
        if not parts:
            self.error(
                "bad-run", f"`run` is empty: give an image and command, like `{example}`", path
            )
            return None
        image, _, version = parts[0].partition(":")
        if not VERSION_TAG.match(version):
            self.error(
                "bad-run",
                f"the image `{image}` needs a version, like `{image}:v2` (as in `{example}`)",
                path,
            )
            return None
        run = Run(raw, image, version, tuple(parts[1:]))
        if (
            feats is not None
            and feats.no_cohortextractor
            and parts[0].startswith("cohortextractor")
        ):
            self.error(
                "unsupported-image",
                "cohortextractor is not supported from version 4: use ehrql, or an older version",
                path,
            )
        if feats is not None and feats.no_latest_tag and version == "latest":
            self.error(
                "unsupported-image",
                f"`{parts[0]}` is not allowed from version 5: give a version, like `{image}:v2`",
                path,
            )
        return run

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
                    + _suggest(key, PRIVACY_LEVELS),
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

    # -- the graph ---------------------------------------------------------

    def check_needs(self, actions: dict, built: dict[str, Action]) -> None:
        names = [n for n in actions if isinstance(n, str)]
        position = {name: i for i, name in enumerate(names)}
        ordered = True  # every need defined above its action: then there is no cycle
        for name, spec in actions.items():
            needs = spec.get("needs") if isinstance(spec, dict) else None
            if not isinstance(name, str) or not isinstance(needs, list):
                continue
            here = position[name]
            for i, need in enumerate(needs):
                where = position.get(need) if isinstance(need, str) else -1
                if where is None:
                    if " " in need.strip():
                        continue  # "looks like several actions", said in check_action
                    if not is_safe_name(need):
                        self.error(
                            "bad-need",
                            f"`{shown(need)}` cannot be an action's name (an action name "
                            f"becomes a file name on the site: {SAFE_NAME_RULE}): name the "
                            "action this one needs",
                            ("actions", name, "needs", i),
                        )
                    else:
                        self.error(
                            "unknown-need",
                            f"`{need}` is not an action in this file{_suggest(need, names)}",
                            ("actions", name, "needs", i),
                        )
                elif where >= here:
                    ordered = False
        if ordered:
            return
        graph = {name: [n for n in a.needs if n in built] for name, a in built.items()}
        for cycle in find_cycles(graph):
            closing = cycle[-2]
            index = list(built[closing].needs).index(cycle[-1])
            self.error(
                "cycle",
                f"actions need each other in a cycle ({' -> '.join(cycle)}), so none can "
                "ever run: remove one of these needs",
                ("actions", closing, "needs", index),
            )


def _declared(outputs: Outputs) -> list[tuple[str, str, str]]:
    """(level, name, pattern) of each output, as a list: cheaper than iterating `Outputs`."""
    return [
        (level, name, p) for level, named in outputs.by_level.items() for name, p in named.items()
    ]


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
