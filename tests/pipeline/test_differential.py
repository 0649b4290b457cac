"""Our parser against the official one (opensafely 2.1.1), over the real corpus and its mutations.

The verdicts must agree, and for valid files so must everything read from
them. The differences are deliberate, each a file the official tools cannot
run or one that could harm the site (the README lists them); they are listed
in DIVERGENCES and checked to be exactly those.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from jupyter_ext.pipeline import check_pipeline

from ..conftest import SAMPLE_PROJECT, corpus_files
from .official import official_verdict, our_summary


def ours(text: str):
    pipeline, problems, warnings = check_pipeline(text)
    return pipeline, problems, warnings


@pytest.mark.parametrize("path", corpus_files(), ids=lambda p: p.stem)
def test_corpus_file_reads_as_the_official_parser_reads_it(path: Path) -> None:
    text = path.read_text()
    official = official_verdict(text)
    pipeline, problems, _ = ours(text)
    if official.crashed:
        assert pipeline is None, f"the official parser crashed ({official.message}); we accepted it"
        assert problems and all(p.message for p in problems)
        return
    assert (pipeline is not None) == official.valid, (
        f"official: {'valid' if official.valid else official.message}; "
        f"ours: {[p.format() for p in problems]}"
    )
    if official.valid:
        assert our_summary(pipeline) == official.summary


def test_the_corpus_has_valid_invalid_and_crashing_files(corpus) -> None:
    verdicts = [official_verdict(p.read_text()) for p in corpus]
    assert sum(v.valid for v in verdicts) >= 10
    assert sum(not v.valid and not v.crashed for v in verdicts) >= 10
    assert sum(v.crashed for v in verdicts) >= 1


# -- mutations ---------------------------------------------------------------

Data = dict[str, Any]


def _first_with_needs(data: Data) -> str:
    return next(name for name, a in data["actions"].items() if a.get("needs"))


def _any_output(action: Data) -> tuple[str, str, str]:
    for level, outputs in action["outputs"].items():
        for name, pattern in (outputs or {}).items():
            return level, name, pattern
    raise AssertionError("no output")


def drop_needed_action(data: Data) -> None:
    del data["actions"][data["actions"][_first_with_needs(data)]["needs"][0]]


def unknown_need(data: Data) -> None:
    data["actions"][_first_with_needs(data)]["needs"].append("no_such_action")


def need_with_space(data: Data) -> None:
    action = data["actions"][_first_with_needs(data)]
    action["needs"][0] = f"{action['needs'][0]} other_action"


def needs_not_a_list(data: Data) -> None:
    action = data["actions"][_first_with_needs(data)]
    action["needs"] = ", ".join(action["needs"])


def cycle(data: Data) -> None:
    name = _first_with_needs(data)
    data["actions"][data["actions"][name]["needs"][0]].setdefault("needs", []).append(name)


def self_need(data: Data) -> None:
    name = _first_with_needs(data)
    data["actions"][name]["needs"].append(name)


def output_claimed_twice(data: Data) -> None:
    first, second = list(data["actions"].values())[:2]
    level, _, pattern = _any_output(first)
    second["outputs"].setdefault(level, {})
    second["outputs"][level] = {**(second["outputs"][level] or {}), "stolen": pattern}


def bad_privacy_level(data: Data) -> None:
    outputs = next(iter(data["actions"].values()))["outputs"]
    level = next(iter(outputs))
    outputs["secret_sensitive"] = outputs.pop(level)


def _set_first_output(data: Data, pattern: str) -> None:
    outputs = next(iter(data["actions"].values()))["outputs"]
    level, name, _ = _any_output(next(iter(data["actions"].values())))
    outputs[level][name] = pattern


def absolute_output(data: Data) -> None:
    _set_first_output(data, "/tmp/output/data.csv")


def dotdot_inside_output(data: Data) -> None:
    _set_first_output(data, "output/../../data.csv")


def dotdot_leading_output(data: Data) -> None:
    _set_first_output(data, "../data.csv")


def wildcard_output(data: Data) -> None:
    _set_first_output(data, "output/**/data.csv")


def no_extension_output(data: Data) -> None:
    _set_first_output(data, "output/data")


def missing_run(data: Data) -> None:
    del next(iter(data["actions"].values()))["run"]


def empty_run(data: Data) -> None:
    next(iter(data["actions"].values()))["run"] = ""


def run_without_version(data: Data) -> None:
    action = next(iter(data["actions"].values()))
    image, _, rest = action["run"].partition(" ")
    action["run"] = f"{image.split(':')[0]} {rest}"


def unbalanced_quote(data: Data) -> None:
    next(iter(data["actions"].values()))["run"] += ' "unclosed'


def duplicate_run(data: Data) -> None:
    first, second = list(data["actions"].values())[:2]
    second["run"] = first["run"]


def missing_outputs(data: Data) -> None:
    del next(iter(data["actions"].values()))["outputs"]


def empty_outputs(data: Data) -> None:
    next(iter(data["actions"].values()))["outputs"] = {}


def unknown_action_key(data: Data) -> None:
    next(iter(data["actions"].values()))["neds"] = []


def config_not_a_mapping(data: Data) -> None:
    next(iter(data["actions"].values()))["config"] = ["a", "b"]


def unknown_top_level_key(data: Data) -> None:
    data["describe"] = {"run": "python:v2 x.py"}


def version_latest(data: Data) -> None:
    data["version"] = "latest"


def version_six(data: Data) -> None:
    data["version"] = 6


def version_missing(data: Data) -> None:
    del data["version"]


def version_text(data: Data) -> None:
    data["version"] = "three"


def action_named_run_all(data: Data) -> None:
    data["actions"]["run_all"] = copy.deepcopy(next(iter(data["actions"].values())))
    data["actions"]["run_all"]["run"] += " --again"
    for outputs in data["actions"]["run_all"]["outputs"].values():
        for name in list(outputs or {}):
            outputs[name] = f"again/{outputs[name]}"


def actions_not_a_mapping(data: Data) -> None:
    data["actions"] = list(data["actions"])


def numeric_action_name(data: Data) -> None:
    name = list(data["actions"])[-1]  # the last action: nothing needs it
    data["actions"] = {2017 if k == name else k: v for k, v in data["actions"].items()}


def unsafe_action_name(data: Data) -> None:
    name = list(data["actions"])[-1]  # the last action: nothing needs it
    data["actions"] = {f"../../{k}" if k == name else k: v for k, v in data["actions"].items()}


def unsafe_output_name(data: Data) -> None:
    outputs = next(iter(data["actions"].values()))["outputs"]
    level, name, _ = _any_output(next(iter(data["actions"].values())))
    outputs[level] = {"/tmp/x" if k == name else k: v for k, v in outputs[level].items()}


def control_character_in_output(data: Data) -> None:
    _, _, pattern = _any_output(next(iter(data["actions"].values())))
    folder, _, file = pattern.rpartition("/")
    _set_first_output(data, f"{folder}/\x07{file}" if folder else f"\x07{file}")


def alias_bomb(data: Data) -> None:
    """safe_dump writes a shared list once and aliases it: 9**4 long lols (the official
    parser expands them all, slowly; deeper bombs take it minutes)."""
    value: Any = ["lol" * 100]
    for _ in range(4):
        value = [value] * 9
    next(iter(data["actions"].values()))["config"] = {"bomb": value}


def value_inside_itself(data: Data) -> None:
    looped: dict[str, Any] = {}
    looped["again"] = looped
    next(iter(data["actions"].values()))["config"] = looped


def nested_too_deep(data: Data) -> None:
    value: Any = 1
    for _ in range(150):
        value = {"a": value}
    next(iter(data["actions"].values()))["config"] = value


DATA_MUTATIONS: list[Callable[[Data], None]] = [
    drop_needed_action,
    unknown_need,
    need_with_space,
    needs_not_a_list,
    cycle,
    self_need,
    output_claimed_twice,
    bad_privacy_level,
    absolute_output,
    dotdot_inside_output,
    dotdot_leading_output,
    wildcard_output,
    no_extension_output,
    missing_run,
    empty_run,
    run_without_version,
    unbalanced_quote,
    duplicate_run,
    missing_outputs,
    empty_outputs,
    unknown_action_key,
    config_not_a_mapping,
    unknown_top_level_key,
    version_latest,
    version_six,
    version_missing,
    version_text,
    action_named_run_all,
    actions_not_a_mapping,
    numeric_action_name,
    unsafe_action_name,
    unsafe_output_name,
    control_character_in_output,
    alias_bomb,
    value_inside_itself,
    nested_too_deep,
]


def duplicate_action(text: str) -> str:
    """The same action name twice: a duplicate YAML key."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("actions:")) + 1
    while not lines[start].strip() or lines[start].lstrip().startswith("#"):
        start += 1
    indent = len(lines[start]) - len(lines[start].lstrip())
    end = start + 1
    while end < len(lines) and (
        not lines[end].strip() or len(lines[end]) - len(lines[end].lstrip()) > indent
    ):
        end += 1
    return "\n".join([*lines[:end], *lines[start:end], *lines[end:]]) + "\n"


def duplicate_top_key(text: str) -> str:
    return text + "\nversion: '3.0'\n"


def broken_indentation(text: str) -> str:
    return text.replace("\n", "\n   ", 1) if "\n" in text else text + ":"


def unclosed_flow_sequence(text: str) -> str:
    return text + "\nextra: [a, b\n"


def tab_indentation(text: str) -> str:
    return text + "\nactions2:\n\tx: 1\n"


def not_a_mapping(text: str) -> str:
    return "- just\n- a list\n"


def empty_file(text: str) -> str:
    return ""


TEXT_MUTATIONS: list[Callable[[str], str]] = [
    duplicate_action,
    duplicate_top_key,
    broken_indentation,
    unclosed_flow_sequence,
    tab_indentation,
    not_a_mapping,
    empty_file,
]

# Where we refuse a file the official parser accepts: each is a file the official tools
# cannot run (the job runner recurses forever on a cycle, and cannot request an action
# whose name is not a string) or one that writes outside the workspace, or a hostile
# file: a name that is not safe as a file name, a YAML bomb, nesting that crashes
# whatever reads it next.
DIVERGENCES = {
    "cycle": "cycle",
    "self_need": "cycle",
    "dotdot_leading_output": "bad-output-path",
    "numeric_action_name": "bad-action-name",
    "unsafe_action_name": "bad-action-name",
    "unsafe_output_name": "bad-output-name",
    "control_character_in_output": "bad-output-path",
    "alias_bomb": "yaml-limit",
    "value_inside_itself": "yaml-limit",
    "nested_too_deep": "yaml-limit",
}


def _bases() -> list[Path]:
    """Valid corpus files small enough for the slow official parser, and the sample project."""
    small = [p for p in corpus_files() if p.stat().st_size < 40_000]
    valid = [p for p in small if official_verdict(p.read_text()).valid]
    return [SAMPLE_PROJECT / "project.yaml", *valid[:8]]


def _cases() -> list[tuple[Path, Callable]]:
    return [(base, m) for base in _bases() for m in [*DATA_MUTATIONS, *TEXT_MUTATIONS]]


def _mutate(base: Path, mutation: Callable) -> str | None:
    text = base.read_text()
    if mutation in TEXT_MUTATIONS:
        return mutation(text)
    data = yaml.safe_load(text)
    try:
        mutation(data)
    except (StopIteration, AssertionError, IndexError, KeyError, ValueError):
        return None  # this base lacks what the mutation changes
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize(
    ("base", "mutation"), _cases(), ids=lambda x: getattr(x, "__name__", getattr(x, "stem", x))
)
def test_mutation_gets_the_official_verdict(base: Path, mutation: Callable) -> None:
    text = _mutate(base, mutation)
    if text is None:
        return
    official = official_verdict(text)
    pipeline, problems, _ = ours(text)
    ours_valid = pipeline is not None
    if mutation.__name__ in DIVERGENCES:
        assert not ours_valid, "we must refuse what the official tools cannot run"
        assert DIVERGENCES[mutation.__name__] in {p.code for p in problems}
    elif official.crashed:
        assert not ours_valid
    else:
        assert ours_valid == official.valid, (
            f"official: {'valid' if official.valid else official.message}; "
            f"ours: {[p.format() for p in problems]}"
        )
        if official.valid:
            assert our_summary(pipeline) == official.summary
    for problem in problems:  # every problem says where it is
        assert problem.line is not None or problem.code in {"yaml-syntax", "not-a-mapping"}, problem
