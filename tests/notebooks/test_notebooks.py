"""The workshop notebooks, run top to bottom against a running demo, as a learner runs them."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from jupyter_ext.cli import demo_files
from jupyter_ext.cli.hubstack import free_port

from ..hub.test_demo import start_demo, stop_demo, wait_for_url

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    process = start_demo(folder, free_port())
    try:
        url = wait_for_url(process)
        # the demo's own first job request runs the actions 01 asks for again: a learner
        # who runs 01 while it is still queued is told so ("already scheduled to run")
        deadline = time.monotonic() + 180
        while not (folder / "release.seeded").exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        tokens = json.loads((folder / "tokens.json").read_text())
        yield {
            "JUPYTER_EXT_JOBSERVER_URL": f"{url}services/jobserver/",
            "JUPYTER_EXT_TOKEN": tokens["analyst"],
            "JUPYTER_EXT_WORKSPACE": "demo-study",
            "JUPYTER_EXT_DEMO_DIR": str(folder),  # 05 plays the checkers with their tokens
        }
    finally:
        stop_demo(process)


def test_there_are_the_workshop_notebooks():
    assert [n.stem for n in NOTEBOOKS] == [
        "01-getting-started",
        "02-debugging-a-failed-job",
        "03-browsing-released-outputs",
        "04-scripting-with-the-client",
        "05-requesting-a-release",
        "06-datasets",
        "07-one-study-many-sites",
        "08-notebooks-as-actions",
    ]


def test_the_demo_repository_holds_the_notebooks_beside_its_project(tmp_path):
    """A workspace of the demo opens with them, next to project.yaml, where they run."""
    repo = demo_files.repository(tmp_path, "study", "debug-me")

    def git(*args: str) -> bytes:
        return subprocess.run(
            ["git", "-C", str(repo), *args], capture_output=True, check=True
        ).stdout

    for branch in ("main", "debug-me"):
        listed = git("ls-tree", "--name-only", branch).decode().split()
        assert "project.yaml" in listed
        assert [name for name in listed if name.endswith(".ipynb")] == [n.name for n in NOTEBOOKS]
        for notebook in NOTEBOOKS:  # the same bytes as here
            assert git("show", f"{branch}:{notebook.name}") == notebook.read_bytes()


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_a_notebook_runs_top_to_bottom(notebook, demo, tmp_path, monkeypatch):
    for name, value in demo.items():  # the kernel inherits them, as in a workspace server
        monkeypatch.setenv(name, value)
    book = nbformat.read(notebook, as_version=4)
    assert book.metadata["kernelspec"]["name"] == "python3"
    assert all(not cell.get("outputs") for cell in book.cells if cell.cell_type == "code")
    client = NotebookClient(
        book, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # a cell that raises fails the test, naming the cell
    texts = [o.get("text", "") for c in book.cells if c.cell_type == "code" for o in c.outputs]
    assert "".join(texts), "the notebook showed nothing"
