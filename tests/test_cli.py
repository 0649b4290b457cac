"""The `jupyter ext` command line, run as a user runs it: a real process."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import SAMPLE_PROJECT

SAMPLE = str(SAMPLE_PROJECT / "project.yaml")


def jupyter_ext(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("jupyter-ext")
    if not script.exists():
        pytest.skip(f"the jupyter-ext script is not installed next to {sys.executable}")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [str(script), *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=60
    )


def test_check_prints_one_line_per_file_and_exits_2_if_any_is_invalid(tmp_path):
    bad = tmp_path / "project.yaml"
    bad.write_text("version: '5'\nactions:\n  a:\n    run: python:v2 a.py\n    needs: [b]\n")
    result = jupyter_ext("pipeline", "check", SAMPLE, str(bad))
    assert result.returncode == 2
    lines = result.stdout.splitlines()
    assert lines[0] == f"{SAMPLE}: valid, 5 actions"
    assert lines[1] == f"{bad}: invalid, 2 problems"
    assert f"{bad}:3:3: actions.a: action `a` has no `outputs`: add `outputs:`" in result.stdout
    assert f"{bad}:5:13: actions.a.needs[0]: `b` is not an action" in result.stdout


def test_check_json(tmp_path):
    result = jupyter_ext("pipeline", "check", SAMPLE, str(tmp_path / "missing.yaml"), "--json")
    assert result.returncode == 2
    first, second = json.loads(result.stdout)
    assert first == {"file": SAMPLE, "valid": True, "problems": [], "warnings": []}
    assert second["valid"] is False
    assert second["problems"][0]["code"] == "unreadable"


def test_check_agrees_with_the_official_parser_on_the_corpus(corpus):
    from .pipeline.official import official_verdict

    result = jupyter_ext("pipeline", "check", *map(str, corpus), "--json")
    assert result.returncode == 2
    verdicts = {item["file"]: item["valid"] for item in json.loads(result.stdout)}
    for path in corpus:
        assert verdicts[str(path)] == official_verdict(path.read_text()).valid, path.name


def test_plan_with_states_and_force(tmp_path):
    states = tmp_path / "state.json"
    states.write_text(json.dumps({"generate_dataset": "succeeded", "derive_measures": "succeeded"}))
    result = jupyter_ext("pipeline", "plan", SAMPLE, "make_table", "--state", str(states), "--json")
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert [job["action"] for job in plan["jobs"]] == ["make_table"]
    assert set(plan["reused"]) == {"derive_measures"}
    forced = jupyter_ext(
        "pipeline", "plan", SAMPLE, "make_table", f"--state={states}", "--force-run-dependencies"
    )
    assert forced.returncode == 0
    assert forced.stdout.splitlines()[0] == "3 jobs to run, in order:"


def test_plan_refusals_exit_2_with_a_sentence(tmp_path):
    result = jupyter_ext("pipeline", "plan", SAMPLE, "make_tabel")
    assert result.returncode == 2
    assert "did you mean `make_table`" in result.stderr
    states = tmp_path / "state.json"
    states.write_text('{"make_table": "great"}')
    result = jupyter_ext("pipeline", "plan", SAMPLE, "--state", str(states))
    assert result.returncode == 2
    assert "the state file must map actions to one of" in result.stderr


def test_graph_tree_mermaid_and_json():
    tree = jupyter_ext("pipeline", "graph", SAMPLE)
    assert tree.stdout.splitlines()[:2] == ["generate_dataset", "└── derive_measures"]
    mermaid = jupyter_ext("pipeline", "graph", SAMPLE, "--format", "mermaid")
    assert mermaid.stdout.startswith("flowchart TD")
    data = json.loads(jupyter_ext("pipeline", "graph", SAMPLE, "--json").stdout)
    assert data["actions"]["report"]["needs"] == ["make_table", "make_plot"]


def test_config_file_is_read_and_the_command_line_wins(tmp_path):
    (tmp_path / "jupyter_ext_config.py").write_text('c.GraphApp.format = "mermaid"\n')
    assert jupyter_ext("pipeline", "graph", SAMPLE, cwd=tmp_path).stdout.startswith("flowchart")
    tree = jupyter_ext("pipeline", "graph", SAMPLE, "--format=tree", cwd=tmp_path)
    assert tree.stdout.startswith("generate_dataset")
    other = tmp_path / "elsewhere.py"
    other.write_text("c.PipelineCommand.as_json = True\n")
    assert jupyter_ext("pipeline", "graph", SAMPLE, f"--config={other}").stdout.startswith("{")


def test_help_all_lists_every_trait_with_its_help():
    result = jupyter_ext("--help-all")
    assert result.returncode == 0
    for trait in ("PlanApp.state_file", "GraphApp.format", "JupyterExtBase.config_file"):
        assert f"--{trait}" in result.stdout
    assert "JSON file of the last state of each action" in result.stdout


def test_generate_config_writes_every_option(tmp_path):
    result = jupyter_ext("--generate-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "jupyter_ext_config.py").read_text()
    assert "# c.PlanApp.force_run_dependencies = False" in text
    assert jupyter_ext("--generate-config", cwd=tmp_path).returncode != 0  # never overwrites


def test_jupyter_ext_is_also_jupyter_ext_subcommand():
    jupyter = Path(sys.executable).with_name("jupyter")
    if not jupyter.exists():
        pytest.skip("jupyter (jupyter_core) is not installed")
    env = {**os.environ, "PATH": f"{jupyter.parent}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run(
        [str(jupyter), "ext", "pipeline", "check", SAMPLE], capture_output=True, text=True, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "valid, 5 actions" in result.stdout
    assert shutil.which("jupyter-ext", path=env["PATH"])
