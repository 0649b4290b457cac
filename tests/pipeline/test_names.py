"""Names that become paths, and YAML that would cost too much: refused with line and column."""

from __future__ import annotations

import textwrap

import pytest

from jupyter_ext.pipeline import check_pipeline
from jupyter_ext.pipeline.datasets import USE
from jupyter_ext.pipeline.names import (
    MAX_NAME_LENGTH,
    is_safe_name,
    is_safe_output_name,
    safe_name_like,
    shown,
)
from jupyter_ext.pipeline.yaml_loader import (
    MAX_ALIAS_EXPANSION,
    MAX_CHARACTERS,
    MAX_DEPTH,
    YAMLLimitError,
    parse_yaml,
)

SAFE = ["a", "extract", "make_table-2", "v1.2", "2017", "_private", "x" * MAX_NAME_LENGTH]
UNSAFE = [
    "",
    ".",
    "..",
    ".hidden",
    "-rf",
    "a/b",
    "../../tmp/x",
    "/etc/passwd",
    "a\\b",
    "a b",
    "a\x00b",
    "a\nb",
    "tab\there",
    "\x1b[2J",
    "café",
    "\u202etxt.exe",
    "x" * (MAX_NAME_LENGTH + 1),
    "a:b",
    "a*b",
    "$(reboot)",
]


@pytest.mark.parametrize("name", SAFE)
def test_safe_names(name):
    assert is_safe_name(name) and is_safe_output_name(name)


@pytest.mark.parametrize("name", UNSAFE)
def test_unsafe_names(name):
    assert not is_safe_name(name)
    assert not is_safe_output_name(name) or name == "a b"


@pytest.mark.parametrize("name", ["figure 1", "table 2 a"])
def test_output_names_may_hold_single_spaces_inside(name):
    assert is_safe_output_name(name) and not is_safe_name(name)


@pytest.mark.parametrize("name", ["figure  1", " figure", "figure ", " "])
def test_output_names_may_not_start_end_or_double_spaces(name):
    assert not is_safe_output_name(name)


@pytest.mark.parametrize("name", UNSAFE)
def test_the_suggested_rename_is_safe(name):
    assert is_safe_name(safe_name_like(name))


def test_dataset_names_in_datasets_yaml_are_a_subset_of_safe_names():
    for name in ["primary-care", "a", "x" * 64, "a1-b2"]:
        assert USE.fullmatch(name) and is_safe_name(name)
    for name in UNSAFE:
        assert not USE.fullmatch(name)


def test_shown_escapes_control_characters_and_cuts_long_text():
    assert shown("a\x1b[2Jb") == "a\\x1b[2Jb"
    assert shown("\u202e") == "\\u202e"
    assert len(shown("x" * 1000)) == 60


def check(text: str):
    return check_pipeline(textwrap.dedent(text).lstrip("\n"), "project.yaml")


def formatted(problems) -> list[str]:
    return [p.format() for p in problems]


def test_an_action_name_that_leaves_its_folder_is_refused_where_it_is():
    pipeline, problems, _ = check(
        """
        version: "5"
        actions:
          "../../../tmp/x/record":
            run: python:v2 a.py
            outputs:
              moderately_sensitive:
                t: output/t.csv
          b:
            run: python:v2 b.py
            needs: ["../../../tmp/x/record"]
            outputs:
              moderately_sensitive:
                t: output/u.csv
        """
    )
    assert pipeline is None
    [problem] = problems  # the need names an action: the action's problem is the one to fix
    assert problem.code == "bad-action-name"
    text = problem.format()
    assert text.startswith("project.yaml:3:3: actions.../../../tmp/x/record: the action name ")
    assert "letters A-Z and a-z, digits, `_`, `-` and `.`" in text
    assert "rename it (e.g. to `tmp_x_record`)" in text


def test_a_need_that_could_not_be_an_action_name_says_so():
    pipeline, problems, _ = check(
        """
        version: "5"
        actions:
          a:
            run: python:v2 a.py
            needs: [../b, "c\\x00"]
            outputs:
              moderately_sensitive:
                t: output/t.csv
        """
    )
    assert pipeline is None
    assert [p.code for p in problems] == ["bad-need", "bad-need"]
    assert formatted(problems)[0].startswith(
        "project.yaml:5:13: actions.a.needs[0]: `../b` cannot be an action's name"
    )
    assert "`c\\x00` cannot be" in formatted(problems)[1]


def test_an_output_name_with_a_separator_or_control_character_is_refused():
    pipeline, problems, _ = check(
        """
        version: "5"
        actions:
          a:
            run: python:v2 a.py
            outputs:
              moderately_sensitive:
                "figure 1": output/f1.png
                "../t": output/t.csv
                "\\e[2J": output/u.csv
        """
    )
    assert pipeline is None
    assert [p.code for p in problems] == ["bad-output-name", "bad-output-name"]
    first, second = formatted(problems)
    assert first.startswith("project.yaml:8:9: actions.a.outputs.moderately_sensitive.../t: ")
    assert "single spaces inside are allowed" in first
    assert "\x1b" not in second and "\\x1b[2J" in second  # the terminal is not driven


def test_an_output_path_with_a_control_character_is_refused():
    pipeline, problems, _ = check(
        """
        version: "5"
        actions:
          a:
            run: python:v2 a.py
            outputs:
              highly_sensitive:
                t: "output/\\nt.csv"
        """
    )
    assert pipeline is None
    assert "contains the control character '\\n': remove it" in formatted(problems)[0]


BOMB = """\
version: "5"
actions:
  a:
    run: python:v2 a.py
    outputs:
      moderately_sensitive:
        t: output/t.csv
    config:
      l0: &l0 ["lol"]
"""


def bomb(levels: int) -> str:
    lines = [f"      l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return BOMB + "\n".join(lines) + "\n"


def test_a_billion_laughs_is_refused_at_the_alias_that_passes_the_limit():
    pipeline, problems, _ = check_pipeline(bomb(10))
    assert pipeline is None
    [problem] = problems
    assert problem.code == "yaml-limit"
    assert f"aliases repeat more than {MAX_ALIAS_EXPANSION:,}" in problem.message
    assert problem.line == 15  # the first alias of l10, whose list would pass it


def test_a_few_aliases_are_fine():
    pipeline, problems, _ = check_pipeline(bomb(4))
    assert pipeline is not None, formatted(problems)
    assert len(str(pipeline.actions["a"].config)) > 9**3 * 5


def test_merge_keys_count_as_aliases_too():
    levels = [BOMB, "      m0: &m0 {a: &s0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]}\n"]
    for i in range(1, 12):
        keys = ", ".join(f"k{j}: *m{i - 1}" for j in range(9))
        levels.append(f"      m{i}: &m{i} {{<<: *m{i - 1}, {keys}}}\n")
    pipeline, problems, _ = check_pipeline("".join(levels))
    assert pipeline is None and problems[0].code == "yaml-limit"


@pytest.mark.parametrize("value", ["&a [*a]", "&a {x: [1, {y: *a}]}"])
def test_a_value_that_contains_itself_is_refused(value):
    pipeline, problems, _ = check_pipeline(BOMB + f"      loop: {value}\n")
    assert pipeline is None
    assert "so that value would contain itself" in problems[0].message
    assert problems[0].line == 10


def test_a_redefined_anchor_is_not_taken_for_a_loop():
    pipeline, problems, _ = check_pipeline(BOMB + "      x: &a [&a 1, *a]\n")
    assert pipeline is not None, formatted(problems)
    assert pipeline.actions["a"].config["x"] == [1, 1]


def deep_block(depth: int) -> str:
    text = BOMB
    for level in range(depth):
        text += "  " * (3 + level) + "k:\n"
    return text + "  " * (3 + depth) + "v: 1\n"


def deep_flow(depth: int) -> str:
    return BOMB + "      deep: " + "{a: " * depth + "1" + "}" * depth + "\n"


@pytest.mark.parametrize("make", [deep_block, deep_flow], ids=["block", "flow"])
def test_nesting_is_bounded_on_both_yaml_paths(make):
    # the document, actions, a, config, l0/deep: four levels before ours
    assert check_pipeline(make(MAX_DEPTH - 4))[0] is not None
    pipeline, problems, _ = check_pipeline(make(MAX_DEPTH - 3))
    assert pipeline is None and problems[0].code == "yaml-limit"
    assert problems[0].line is not None
    pipeline, problems, _ = check_pipeline(make(5000))  # past Python's recursion limit
    assert pipeline is None and problems[0].code == "yaml-limit"


def test_a_huge_file_is_refused_before_it_is_parsed():
    text = BOMB + ("# padding\n" * (MAX_CHARACTERS // 10))
    with pytest.raises(YAMLLimitError) as caught:
        parse_yaml(text)
    assert caught.value.line == 9 + (MAX_CHARACTERS - len(BOMB)) // 10 + 1
    pipeline, problems, _ = check_pipeline(text)
    assert pipeline is None and problems[0].message.startswith("the file is longer than")
