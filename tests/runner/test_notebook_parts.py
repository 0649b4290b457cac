"""The runner's pieces of notebook actions, each alone: no job server, no executor.

What the lease may say of parameters, the command and environment a notebook job gets, the
parameters against the checked-out notebook, the failed cell said per log policy, papermill's
injection, and the `jupyter` image's recipe. The whole path runs in test_notebooks.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from jupyter_ext.pipeline.notebooks import MAX_PARAMETERS_BYTES, NotebookError
from jupyter_ext.runner import notebook_main
from jupyter_ext.runner.images import FILES_LABEL, IN_IMAGE, RECIPES, ImageRecipe
from jupyter_ext.runner.job_spec import job_spec
from jupyter_ext.runner.leases import LeaseRefused, check_lease
from jupyter_ext.runner.notebooks import (
    NOTEBOOK_MAIN,
    PARAMETERS_ENV,
    STATUS_ONLY,
    FailedCell,
    check_checkout,
    failure_message,
)
from jupyter_ext.runner.policy import LogPolicy
from jupyter_ext.schema import Lease


def lease(run: str = "jupyter:v1 analysis/report.ipynb", **fields) -> Lease:
    return Lease(
        identifier="j1",
        job_request="r",
        workspace="w",
        action="report",
        repo="https://github.com/o/r",
        sha="0" * 40,
        run=run,
        needs=[],
        wait_for=[],
        outputs={},
        lease_expires_at=dt.datetime.now(dt.UTC),
        **fields,
    )


@pytest.mark.parametrize(
    ("parameters", "says"),
    [
        ({"not a name": 1}, "'not a name' is not a name a notebook can set"),
        ({"class": 1}, "'class' is not a name a notebook can set"),
        ({"x" * 101: 1}, "is not a name a notebook can set"),
        ({"big": "x" * MAX_PARAMETERS_BYTES}, f"bytes as JSON, over {MAX_PARAMETERS_BYTES} bytes"),
        ({"many": list(range(MAX_PARAMETERS_BYTES + 1))}, "bytes as JSON"),
        ({"deep": json.loads("[" * 40 + "]" * 40)}, "nested more than 32 deep"),
        ({"nan": float("nan")}, "not a finite number"),
    ],
)
def test_a_lease_with_parameters_a_notebook_cannot_take_is_refused(parameters, says):
    with pytest.raises(LeaseRefused, match=re.escape(says)):
        check_lease(lease(parameters=parameters))


def test_a_lease_with_plain_parameters_passes():
    check_lease(lease(parameters={"region": "north", "limits": {"low": [1, 2.5]}, "on": None}))


def test_a_notebook_job_runs_the_notebook_runner_with_its_parameters_as_json(tmp_path):
    spec = job_spec(lease(parameters={"threshold": 3}), tmp_path / "job", tmp_path / "s", {})
    assert spec.image == "jupyter"
    assert spec.args == [
        "analysis/report.ipynb",
        *("--html", "output/report.html", "--cell-timeout", "600"),
        *("--ipynb", "output/report.ipynb"),
    ]
    assert json.loads(spec.env[PARAMETERS_ENV]) == {"threshold": 3}
    nbconvert = "jupyter:v1 jupyter nbconvert /workspace/a/r.ipynb --execute --to html --no-input"
    opensafely = job_spec(lease(nbconvert), tmp_path / "job", tmp_path / "s", {})
    html = ["--html", "a/r.html"]  # in the notebook's folder, named as it is
    assert opensafely.args == ["a/r.ipynb", *html, "--cell-timeout", "600", "--no-input"]
    with pytest.raises(NotebookError, match="runs one notebook"):
        job_spec(lease("jupyter:v1 one.ipynb two.ipynb"), tmp_path / "job", tmp_path / "s", {})
    script = job_spec(lease("python:v2 a.py"), tmp_path / "job", tmp_path / "s", {})
    assert script.args == ["a.py"] and PARAMETERS_ENV not in script.env


def write(path, cells) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(new_notebook(cells=cells), path)


def test_parameters_are_checked_against_the_notebook_checked_out(tmp_path):
    write(tmp_path / "a" / "n.ipynb", [new_code_cell("t = 1", metadata={"tags": ["parameters"]})])
    assert check_checkout(tmp_path, "a/n.ipynb", {"t": 2}) == []
    (warning,) = check_checkout(tmp_path, "a/n.ipynb", {"other": 2})
    assert "does not declare the parameter other" in warning
    with pytest.raises(NotebookError, match=r"the parameter t of a/n\.ipynb takes a whole number"):
        check_checkout(tmp_path, "a/n.ipynb", {"t": "two"})
    with pytest.raises(NotebookError, match="not in the repository"):
        check_checkout(tmp_path, "gone.ipynb", {})
    (tmp_path / "bad.ipynb").write_text("{")
    with pytest.raises(NotebookError, match="not valid JSON"):
        check_checkout(tmp_path, "bad.ipynb", {})
    os.symlink("/etc/passwd", tmp_path / "out.ipynb")  # a link in the checkout that leads out
    with pytest.raises(NotebookError, match="leads out of its folder"):
        check_checkout(tmp_path, "out.ipynb", {})


SAID = "jupyter-ext: the notebook failed at cell 5 of 12: KeyError: 'NHS1234567890'"


def test_only_the_last_words_of_the_notebook_runner_count_and_they_are_cut_short():
    lines: list[str] = []
    watch = FailedCell(lines.append)
    fake = "jupyter-ext: the notebook failed at cell 1 of 12: made up by the job"
    for line in [fake, "other", SAID]:
        watch(line)
    assert lines == [fake, "other", SAID]  # every line goes on
    assert watch.said == SAID.removeprefix("jupyter-ext: ")
    watch("jupyter-ext: the notebook failed at cell 9 of 9: " + "x" * 1000)
    assert len(watch.said) == 300 and watch.said.endswith("…")


def test_a_failed_cell_is_said_as_the_log_policy_allows():
    said = SAID.removeprefix("jupyter-ext: ")
    full = LogPolicy("full", [r"NHS\d{10}"])
    assert failure_message(said, full, True) == (
        "the notebook failed at cell 5 of 12: KeyError: '[redacted]'"
    )
    redacted = failure_message(said, LogPolicy("redacted"), True)
    assert "5" not in redacted and "12" not in redacted and "KeyError" in redacted
    assert failure_message(said, LogPolicy("status"), False) == STATUS_ONLY
    assert STATUS_ONLY == "the notebook failed: which cell, and why, stay on the site"


def test_parameters_are_injected_after_the_parameters_cell_as_papermill_does():
    nb = new_notebook(
        cells=[
            new_markdown_cell("# T"),
            new_code_cell("n = 1", metadata={"tags": ["parameters"]}),
            new_code_cell("old", metadata={"tags": ["injected-parameters"]}),  # an earlier run's
            new_code_cell("print(n)"),
        ]
    )
    notebook_main.inject(nb, {"n": 2, "names": ["a", "b"], "on": True, "none": None})
    assert [c.source for c in nb.cells] == [
        "# T",
        "n = 1",
        "# Parameters injected by jupyter-ext\nn = 2\nnames = ['a', 'b']\non = True\nnone = None",
        "print(n)",
    ]
    assert nb.cells[2].id == "injected-parameters"  # not random: a run again, the same bytes
    untagged = new_notebook(cells=[new_code_cell("print(n)")])
    notebook_main.inject(untagged, {"n": 2})
    assert untagged.cells[0].metadata["tags"] == ["injected-parameters"]
    nothing = new_notebook(cells=[new_code_cell("print(1)")])
    notebook_main.inject(nothing, {})
    assert len(nothing.cells) == 1


def test_the_jupyter_image_runs_the_notebook_runner_copied_into_it(tmp_path):
    recipe = RECIPES["jupyter"]
    assert recipe.entrypoint == ("python3", IN_IMAGE)
    assert recipe.files == ((NOTEBOOK_MAIN, IN_IMAGE),)
    assert {"python3-nbclient", "python3-nbconvert", "python3-ipykernel"} <= set(recipe.packages)
    copy = tmp_path / "main.py"
    copy.write_text("print(1)")
    changed = ImageRecipe("t", (), (), files=((copy, IN_IMAGE),))
    before = changed.fingerprint()
    copy.write_text("print(2)")
    assert changed.fingerprint() != before  # so ensure_images builds it again
    assert FILES_LABEL == "jupyter-ext.files"


def test_the_slurm_sandbox_shows_the_notebook_runner_wherever_it_lies():
    from jupyter_ext.runner.executors import SlurmExecutor

    assert str(NOTEBOOK_MAIN) in SlurmExecutor()._visible()
    assert str(NOTEBOOK_MAIN) in SlurmExecutor(visible_paths=["/usr"])._visible()
    assert SlurmExecutor(visible_paths=["/"])._visible() == ["/"]
