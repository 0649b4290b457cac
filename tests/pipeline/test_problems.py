"""Errors say where (line, column, key path) and what to change, all of them at once."""

from __future__ import annotations

import textwrap

import pytest

from jupyter_ext.pipeline import ProjectValidationError, check_pipeline, load_pipeline


def check(text: str):
    return check_pipeline(textwrap.dedent(text).lstrip("\n"), "project.yaml")


def only(problems, code):
    found = [p for p in problems if p.code == code]
    assert found, [p.format() for p in problems]
    return found


def test_every_problem_in_the_file_is_reported_in_file_order():
    pipeline, problems, _ = check(
        """
        version: "5"
        actions:
          extract:
            run: python:v2 extract.py
            outputs:
              highly_sensitive:
                data: output/data.csv
          analyse:
            run: python:v2 analyse.py
            needs: [extract, extarct]
            outputs:
              moderately_sensitive:
                table: output/table.rds
          report:
            run: python
            outputs: {}
        """
    )
    assert pipeline is None
    assert [(p.code, p.line) for p in problems] == [
        ("unknown-need", 10),
        ("bad-output-path", 13),
        ("bad-run", 15),
        ("missing-outputs", 16),
    ]
    lines = [p.line for p in problems]
    assert lines == sorted(lines)


def test_unknown_need_points_at_the_entry_and_suggests_the_name():
    _, problems, _ = check(
        """
        version: "5"
        actions:
          extract:
            run: python:v2 extract.py
            outputs:
              highly_sensitive: {data: output/data.csv}
          analyse:
            run: python:v2 analyse.py
            needs: [extract, extarct]
            outputs:
              highly_sensitive: {model: output/model.csv}
        """
    )
    (problem,) = only(problems, "unknown-need")
    assert (problem.line, problem.column) == (9, 22)
    assert problem.key_path == "actions.analyse.needs[1]"
    assert "did you mean `extract`" in problem.message
    assert problem.format().startswith("project.yaml:9:22: actions.analyse.needs[1]: ")


def test_a_cycle_names_the_whole_cycle():
    _, problems, _ = check(
        """
        version: "5"
        actions:
          a:
            run: python:v2 a.py
            needs: [c]
            outputs: {highly_sensitive: {x: a.csv}}
          b:
            run: python:v2 b.py
            needs: [a]
            outputs: {highly_sensitive: {x: b.csv}}
          c:
            run: python:v2 c.py
            needs: [b]
            outputs: {highly_sensitive: {x: c.csv}}
          d:
            run: python:v2 d.py
            needs: [d]
            outputs: {highly_sensitive: {x: d.csv}}
        """
    )
    cycles = only(problems, "cycle")
    assert len(cycles) == 2
    assert "a -> c -> b -> a" in cycles[0].message
    assert "d -> d" in cycles[1].message
    assert cycles[0].key_path.startswith("actions.b.needs")


def test_duplicate_keys_are_reported_with_both_lines():
    _, problems, _ = check(
        """
        version: "5"
        actions:
          a:
            run: python:v2 a.py
            outputs: {highly_sensitive: {x: a.csv}}
          a:
            run: python:v2 other.py
            outputs: {highly_sensitive: {x: b.csv}}
        """
    )
    (problem,) = only(problems, "duplicate-key")
    assert problem.line == 6
    assert "first on line 3" in problem.message
    assert problem.key_path == "actions.a"


def test_broken_yaml_has_a_position():
    pipeline, problems, _ = check("version: '5'\nactions: [a, b\n")
    assert pipeline is None
    (problem,) = problems
    assert problem.code == "yaml-syntax"
    assert problem.line is not None and problem.column is not None


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("", "not-a-mapping", "must be a mapping"),
        ("- a\n", "not-a-mapping", "must be a mapping"),
        ("actions: {}\n", "bad-version", 'version: "5"'),
        ("version: 9\nactions: {}\n", "bad-version", "latest version is 5"),
        ("version: '5'\nactions: []\n", "wrong-type", "`actions` must be a mapping"),
        (
            "version: '5'\nexpectations: {population_size: 10}\nactions: {}\n",
            "expectations-not-allowed",
            "remove",
        ),
        ("version: '3.0'\nactions: {}\n", "missing-expectations", "population_size"),
        ("version: '5'\nactoins: {}\n", "unknown-key", "did you mean `actions`"),
    ],
)
def test_file_level_problems(text, code, words):
    _, problems, _ = check(text)
    assert any(p.code == code and words in p.message for p in problems), [
        p.format() for p in problems
    ]


def test_old_versions_are_valid_with_a_warning_that_says_what_is_current():
    pipeline, problems, warnings = check(
        """
        version: "3.0"
        expectations: {population_size: 1000}
        actions:
          a:
            run: cohortextractor:latest generate_cohort
            outputs: {highly_sensitive: {cohort: output/input.csv}}
        """
    )
    assert pipeline is not None and not problems
    assert pipeline.population_size == 1000
    (warning,) = warnings
    assert warning.code == "old-version" and warning.line == 1
    assert "version 5" in warning.message


def test_load_pipeline_raises_a_typed_error_listing_every_problem():
    with pytest.raises(ProjectValidationError) as info:
        load_pipeline("version: '5'\nactions:\n  a: {run: python, outputs: {}}\n", "p.yaml")
    error = info.value
    assert {p.code for p in error.problems} == {"bad-run", "missing-outputs"}
    assert str(error).startswith("p.yaml is not a valid pipeline (2 problems):")
    assert "p.yaml:3:" in str(error)


def test_a_number_as_action_name_must_be_quoted():
    _, problems, _ = check(
        """
        version: "5"
        actions:
          2017:
            run: python:v2 a.py
            outputs: {highly_sensitive: {x: a.csv}}
          b:
            run: python:v2 b.py
            needs: [2017]
            outputs: {highly_sensitive: {x: b.csv}}
        """
    )
    assert "quote it ('2017')" in only(problems, "bad-action-name")[0].message
    assert only(problems, "bad-need")[0].key_path == "actions.b.needs[0]"


def test_positions_survive_anchors_and_merge_keys():
    pipeline, problems, _ = check(
        """
        version: "5"
        base: &base
          run: python:v2 a.py
        actions:
          a:
            <<: *base
            outputs: {highly_sensitive: {x: a.csv}}
        """
    )
    assert pipeline is None
    assert [p.code for p in problems] == ["unknown-key"]  # `base` is not a project key
    assert problems[0].line == 2
