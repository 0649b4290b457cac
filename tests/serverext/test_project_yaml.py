"""An action added to project.yaml with every other line kept (serverext/project_yaml.py)."""

from __future__ import annotations

import pytest

from jupyter_ext.pipeline import check_pipeline
from jupyter_ext.serverext.project_yaml import ProjectYamlError, add_action, unified_diff
from tests.conftest import SAMPLE_PROJECT

ENTRY = {
    "run": "jupyter:v1 analysis/explore.ipynb",
    "needs": ["generate_dataset"],
    "outputs": {
        "moderately_sensitive": {"html": "output/explore.html", "each": "*.csv"},
        "highly_sensitive": {"notebook": "output/explore.ipynb"},
    },
}
ADDED = """\
  explore:
    run: jupyter:v1 analysis/explore.ipynb
    needs: [generate_dataset]
    outputs:
      moderately_sensitive:
        html: output/explore.html
        each: '*.csv'
      highly_sensitive:
        notebook: output/explore.ipynb
"""


def test_the_entry_goes_after_the_last_action_and_every_other_line_stays():
    old = (SAMPLE_PROJECT / "project.yaml").read_text()
    old = old.replace('version: "5"', '# version 3 has expectations\nversion: "3"', 1)
    old += "\n# the next part is not actions\nexpectations:\n  population_size: 10  # small\n"
    new = add_action(old, "explore", ENTRY)
    head, tail = old.split("\n# the next part")
    assert new == head.rstrip("\n") + "\n\n" + ADDED + "\n# the next part" + tail
    pipeline, problems, _ = check_pipeline(new)
    assert problems == [] and list(pipeline.actions)[-1] == "explore"
    diff = unified_diff(old, new)
    assert diff.startswith("--- a/project.yaml\n+++ b/project.yaml\n")
    added = [line[1:] for line in diff.splitlines() if line.startswith("+") and line[1:2] != "+"]
    assert "".join(f"{line}\n" for line in added).strip("\n") == ADDED.strip("\n")
    assert not [line for line in diff.splitlines() if line.startswith("-") and line[1:2] != "-"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # the file's own indentation, no blank line where it uses none, a comment at its end
        (
            "version: '4'\nactions:\n    a:\n        run: python:v2 a.py\n"
            "        outputs:\n            highly_sensitive: {a: a.csv}\n# the end",
            "version: '4'\nactions:\n    a:\n        run: python:v2 a.py\n"
            "        outputs:\n            highly_sensitive: {a: a.csv}\n"
            + "".join(
                f"{' ' * (len(line) - len(line.lstrip())) * 2}{line.lstrip()}\n"
                for line in ADDED.splitlines()
            )
            + "# the end",
        ),
        # no actions yet
        ("version: '5'\nactions:\n", "version: '5'\nactions:\n" + ADDED),
        ("version: '5'\n", "version: '5'\n\nactions:\n" + ADDED),
        # no file yet
        ("", 'version: "5"\n\nactions:\n' + ADDED),
    ],
)
def test_layouts(old, new):
    assert add_action(old, "explore", ENTRY) == new


def test_a_flow_mapping_is_rewritten_by_ruamel_with_its_comment():
    old = (
        "version: '5'  # five\n"
        "actions: {a: {run: 'python:v2 a.py', outputs: {highly_sensitive: {a: a.csv}}}}\n"
    )
    new = add_action(old, "explore", {**ENTRY, "needs": ["a"]})
    assert "# five" in new and "'python:v2 a.py'" in new
    pipeline, problems, _ = check_pipeline(new)
    assert problems == [] and list(pipeline.actions) == ["a", "explore"]


@pytest.mark.parametrize(
    ("old", "says"),
    [
        ("version: '5'\nactions:\n  explore:\n    run: x\n", "has an action explore already"),
        ("- a list\n", "not a mapping"),
        ("actions: [a, b]\n", "not a mapping of actions"),
        ("actions: {a: [}\n", "not valid YAML"),
    ],
)
def test_refusals(old, says):
    with pytest.raises(ProjectYamlError, match=says):
        add_action(old, "explore", ENTRY)
