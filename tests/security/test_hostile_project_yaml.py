"""A hostile project.yaml corpus, through the pipeline and the real command line.

An analyst controls project.yaml, and the job server, the runner, the server
extension and `jupyter ext pipeline` all read it with the same pipeline. Each
file here is an attack: names that become paths (actions, outputs, needs) that
leave their folder, hide, look like options, links or drive letters, or carry
control characters; output paths that are absolute or climb with `..`; YAML
that costs gigabytes (alias bombs), nests past any stack, or is simply huge.
Each must be refused with a `file:line:col` sentence that says what to change,
and reading it must stay small: the command line runs as a real process under
a memory limit (`RLIMIT_AS`), and its output stays short and printable.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from jupyter_ext.pipeline import check_pipeline
from jupyter_ext.pipeline.yaml_loader import MAX_CHARACTERS

MEMORY_LIMIT = 256 * 2**20  # the command line needs about 200 MB of address space to start
OUTPUT_LIMIT = 64_000  # characters a refusal may print


def project(name: str = "make", outputs: str = "", extra: str = "") -> str:
    """One action; `name` and the outputs' lines are written into the YAML as given."""
    outputs = outputs or "        t: output/t.csv\n"
    return (
        f'version: "5"\nactions:\n  {name}:\n    run: python:v2 a.py\n'
        f"    outputs:\n      moderately_sensitive:\n{outputs}{extra}"
    )


def two_actions(needs: str) -> str:
    return project() + (
        "  use:\n    run: python:v2 b.py\n"
        f"    needs: {needs}\n"
        "    outputs:\n      moderately_sensitive:\n        u: output/u.csv\n"
    )


def laughs(levels: int = 9) -> str:
    """The billion laughs: nine anchors, each a list of nine of the one before (9**9)."""
    lines = ['    config:\n      l0: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"      l{i}: &l{i} [{','.join([f'*l{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def merge_laughs() -> str:
    lines = ["    config:\n      m0: &m0 {a: lol, b: lol, c: lol, d: lol, e: lol}"]
    for i in range(1, 12):
        keys = ", ".join(f"k{j}: *m{i - 1}" for j in range(9))
        lines.append(f"      m{i}: &m{i} {{<<: *m{i - 1}, {keys}}}")
    return "\n".join(lines) + "\n"


def key_laughs() -> str:
    """The bomb as a mapping key: a key that is a list is shown as text, which expands it."""
    return laughs(5) + "      ? [*l4, *l4, *l4, *l4]\n      : x\n"


def deep_block(depth: int) -> str:
    text = project(extra="    config:\n")
    return (
        text
        + "".join("  " * (3 + i) + "k:\n" for i in range(depth))
        + "  " * (3 + depth)
        + "v: 1\n"
    )


# (file, the problem's code, its line): each an attack, each refused where it is
HOSTILE: dict[str, tuple[str, str, int]] = {
    "action-traversal": (project('"/../../../../tmp/x/record"'), "bad-action-name", 3),
    "action-dotdot": (project('".."'), "bad-action-name", 3),
    "action-dot": (project('"."'), "bad-action-name", 3),
    "action-slash": (project("a/b"), "bad-action-name", 3),
    "action-backslash": (project('"..\\\\..\\\\x"'), "bad-action-name", 3),
    "action-hidden": (project(".git"), "bad-action-name", 3),
    "action-option": (project("-rf"), "bad-action-name", 3),
    "action-link-ish": (project('"x -> /etc/passwd"'), "bad-action-name", 3),
    "action-home": (project('"~root"'), "bad-action-name", 3),
    "action-drive": (project('"C:"'), "bad-action-name", 3),
    "action-nul": (project('"a\\0b"'), "bad-action-name", 3),
    "action-escape-codes": (project('"\\e]0;owned\\a\\e[2J"'), "bad-action-name", 3),
    "action-newline": (project('"a\\nb"'), "bad-action-name", 3),
    "action-bidi": (project('"\\u202Egpj.exe"'), "bad-action-name", 3),
    "action-too-long": (project("a" * 1000), "bad-action-name", 3),
    "output-name-traversal": (
        project(outputs='        "../../etc/passwd": output/t.csv\n'),
        "bad-output-name",
        7,
    ),
    "output-name-absolute": (
        project(outputs='        "/tmp/x": output/t.csv\n'),
        "bad-output-name",
        7,
    ),
    "output-name-control": (
        project(outputs='        "t\\r": output/t.csv\n'),
        "bad-output-name",
        7,
    ),
    "output-absolute": (project(outputs="        t: /etc/cron.d/x.csv\n"), "bad-output-path", 7),
    "output-dotdot": (project(outputs="        t: ../../x.csv\n"), "bad-output-path", 7),
    "output-dotdot-inside": (project(outputs="        t: out/../../x.csv\n"), "bad-output-path", 7),
    "output-drive": (project(outputs="        t: C:/x.csv\n"), "bad-output-path", 7),
    "output-backslash": (project(outputs='        t: "..\\\\x.csv"\n'), "bad-output-path", 7),
    "output-control": (project(outputs='        t: "out/\\x1b[2Jx.csv"\n'), "bad-output-path", 7),
    "need-traversal": (two_actions('["../../make"]'), "bad-need", 10),
    "need-dotdot": (two_actions('["..", "."]'), "bad-need", 10),
    "need-control": (two_actions('["make\\0"]'), "bad-need", 10),
    "yaml-bomb": (project(extra=laughs()), "yaml-limit", 14),
    "yaml-bomb-merge": (project(extra=merge_laughs()), "yaml-limit", 14),
    "yaml-bomb-key": (project(extra=key_laughs()), "yaml-limit", 14),
    "yaml-self-containing": (project(extra="    config: &c {again: [*c]}\n"), "yaml-limit", 8),
    "deep-flow": (
        project(extra="    config: " + "{a: " * 20_000 + "1" + "}" * 20_000 + "\n"),
        "yaml-limit",
        8,
    ),
    "deep-block": (deep_block(300), "yaml-limit", 106),
    "deep-keys": (
        project(extra="    config: " + "{? " * 900 + "a" + " : 1}" * 900 + "\n"),
        "yaml-limit",
        8,
    ),
    "deep-merges": (
        project(extra="    config: " + "{<<: " * 900 + "{a: 1}" + "}" * 900 + "\n"),
        "yaml-limit",
        8,
    ),
    "huge-file": (project() + "# " + "x" * MAX_CHARACTERS + "\n", "yaml-limit", 8),
    "huge-name": (project("a" * (MAX_CHARACTERS + 10)), "yaml-limit", 3),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_the_pipeline_refuses_each_attack_where_it_is(name):
    text, code, line = HOSTILE[name]
    pipeline, problems, _ = check_pipeline(text, "project.yaml")
    assert pipeline is None, f"{name} was accepted"
    assert code in {p.code for p in problems}, [p.format() for p in problems]
    problem = next(p for p in problems if p.code == code)
    assert problem.line == line and problem.column is not None, problem
    for shown in (p.format() for p in problems):
        assert shown.startswith("project.yaml:") and shown.split(":")[1].isdigit(), shown
        assert shown.isprintable(), f"a control character reaches the reader: {shown!r}"
        assert len(shown) < 2_000, "a refusal quotes a whole hostile value"


def test_every_refusal_says_what_to_change():
    for name, (text, code, _) in HOSTILE.items():
        _, problems, _ = check_pipeline(text, "project.yaml")
        message = next(p.message for p in problems if p.code == code)
        said = (
            "rename",
            "remove",
            "name the action",
            "write",
            "flatten",
            "shorten",
            "give",
            "use",
            "must stay inside",
        )
        assert any(word in message for word in said), f"{name}: {message}"


# -- the real command line, in a process with a memory limit ---------------------------


def jupyter_ext(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    script = Path(sys.executable).with_name("jupyter-ext")
    if not script.exists():
        pytest.skip(f"the jupyter-ext script is not installed next to {sys.executable}")

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [str(script), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        preexec_fn=limit_memory,
        timeout=600,  # a guard against a hang, not a measure
    )


@pytest.fixture(scope="module")
def hostile_files(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    for name, (text, _, _) in HOSTILE.items():
        (folder / f"{name}.yaml").write_text(text, encoding="utf-8")
    return folder


def test_check_refuses_every_file_in_one_run_within_the_memory_limit(hostile_files):
    names = list(HOSTILE)
    result = jupyter_ext(
        "pipeline", "check", "--json", *(f"{n}.yaml" for n in names), cwd=hostile_files
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and "MemoryError" not in result.stderr
    verdicts = {Path(v["file"]).stem: v for v in json.loads(result.stdout)}
    for name in names:
        _, code, line = HOSTILE[name]
        assert not verdicts[name]["valid"], name
        problem = next(p for p in verdicts[name]["problems"] if p["code"] == code)
        assert problem["line"] == line, (name, problem)


def test_check_prints_each_refusal_as_a_printable_file_line_col_sentence(hostile_files):
    names = list(HOSTILE)
    result = jupyter_ext("pipeline", "check", *(f"{n}.yaml" for n in names), cwd=hostile_files)
    assert result.returncode == 2, result.stderr[-2000:]
    assert len(result.stdout) < OUTPUT_LIMIT * len(names)
    for name in names:
        _, _, line = HOSTILE[name]
        assert f"  {name}.yaml:{line}:" in result.stdout, name
    assert all(text.isprintable() for text in result.stdout.splitlines())


@pytest.mark.parametrize(
    "name",
    [
        "yaml-bomb",
        "yaml-bomb-merge",
        "yaml-bomb-key",
        "yaml-self-containing",
        "deep-flow",
        "huge-file",
        "action-escape-codes",
    ],
)
def test_graph_json_refuses_within_the_memory_limit(hostile_files, name):
    result = jupyter_ext("pipeline", "graph", "--json", f"{name}.yaml", cwd=hostile_files)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert len(result.stdout) < OUTPUT_LIMIT
    refusal = json.loads(result.stdout)
    assert refusal["valid"] is False
    assert refusal["problems"][0]["line"] == HOSTILE[name][2]


def test_a_file_far_over_the_limit_is_not_read_whole(tmp_path):
    """A sparse 8 GB file: read whole it would pass the memory limit thirty times."""
    huge = tmp_path / "project.yaml"
    with huge.open("wb") as file:
        file.write(project().encode())
        file.truncate(8 * 2**30)  # the rest reads as NUL characters
    result = jupyter_ext("pipeline", "plan", "--json", "project.yaml", cwd=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    refusal = json.loads(result.stdout)
    assert refusal["problems"][0]["code"] == "yaml-limit"


def test_the_largest_real_kind_of_file_still_reads(tmp_path):
    """The limits leave room: a valid file of 2,000 actions, with aliases, passes."""
    text = 'version: "5"\nactions:\n'
    text += "  a0:\n    run: python:v2 a.py\n    config: &shared {x: [1, 2, 3], y: {z: deep}}\n"
    text += "    outputs:\n      moderately_sensitive:\n        t: output/a0.csv\n"
    for i in range(1, 2000):
        text += (
            f"  a{i}:\n    run: python:v2 a.py {i}\n    needs: [a{i - 1}]\n    config: *shared\n"
            f"    outputs:\n      moderately_sensitive:\n        'figure {i}': output/a{i}.csv\n"
        )
    (tmp_path / "project.yaml").write_text(text)
    result = jupyter_ext("pipeline", "graph", "--json", "project.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert len(json.loads(result.stdout)["actions"]) == 2000
