"""What a notebook's code writes and reads, read without running it (serverext/notebook_files.py),
and the entry proposed from it (serverext/notebook_action.py)."""

from __future__ import annotations

import pytest

from jupyter_ext.pipeline import load_pipeline
from jupyter_ext.serverext.notebook_action import entry_from, propose, proposed_name
from jupyter_ext.serverext.notebook_files import code_cells, notebook_files
from tests.conftest import SAMPLE_PROJECT


@pytest.mark.parametrize(
    ("code", "writes", "reads"),
    [
        ('df.to_csv("output/table.csv", index=False)', ["output/table.csv"], []),
        ('df.to_parquet(path="output/t.parquet")', ["output/t.parquet"], []),
        ('plt.savefig("output/plot.png", dpi=200)', ["output/plot.png"], []),
        ('fig.savefig(fname="output/p.svg")', ["output/p.svg"], []),
        ('with open("output/notes.txt", "w") as f:\n    f.write("x")', ["output/notes.txt"], []),
        ('open("output/log.txt", mode="a")', ["output/log.txt"], []),
        ('json.dump(x, open("output/s.json", "w"))', ["output/s.json"], []),
        ('open("data/codes.csv").read()', [], ["data/codes.csv"]),
        ('open("data/codes.csv", "rb")', [], ["data/codes.csv"]),
        ('Path("output/summary.md").write_text("# hi")', ["output/summary.md"], []),
        ('Path("output") .joinpath("x")', [], []),  # not followed: no guess
        ('OUT = Path("output")\n(OUT / "a.txt").write_text("a")', ["output/a.txt"], []),
        ('p = Path("output") / "b.csv"\np.open("w")', ["output/b.csv"], []),
        ('d = pd.read_csv("output/dataset.csv")', [], ["output/dataset.csv"]),
        ('pd.read_parquet(os.path.join("output", "d.parquet"))', [], ["output/d.parquet"]),
        ('Path("output/x.json").read_text()', [], ["output/x.json"]),
        ('df.to_csv(f"output/by_{region}.csv")', ["output/by_*.csv"], []),
        ('df.to_csv("output/" + "t.csv")', ["output/t.csv"], []),
        ('np.save("output/arr.npy", a)', ["output/arr.npy"], []),
        ('gzip.open("output/z.csv.gz", "wt")', ["output/z.csv.gz"], []),
        ('df.to_csv("./output/./n.csv")', ["output/n.csv"], []),
        # what cannot be an output of the repository, or cannot be known, is left out
        ('df.to_csv("/tmp/abs.csv")', [], []),
        ('df.to_csv("../up.csv")', [], []),
        ('df.to_csv("s3://bucket/t.csv")', [], []),
        ("df.to_csv(name)", [], []),
        ('open("output/x.txt", mode)', [], []),
        ('df.to_csv(f"{name}")', [], []),
        ('"-".join(["a", "b"])', [], []),
    ],
)
def test_each_kind_of_write_and_read(code, writes, reads):
    found = notebook_files([code])
    assert (found.writes, found.reads) == (writes, reads)


@pytest.mark.parametrize(
    ("code", "writes"),
    [
        ('df.to_csv("../output/t.csv")', ["output/t.csv"]),
        ('df.to_csv("t.csv")', ["analysis/t.csv"]),
        ('df.to_csv("../../t.csv")', []),  # out of the repository
        ('df.to_csv(Path("..") / "output" / "t.csv")', ["output/t.csv"]),
    ],
)
def test_paths_are_from_the_notebooks_folder(code, writes):
    assert notebook_files([code], folder="analysis").writes == writes


def test_cells_in_order_with_magics_and_a_cell_that_is_not_python():
    cells = [
        "%matplotlib inline\n!pip list\nimport pandas as pd\nOUT = 'output'",
        "%%bash\necho not python",
        "def broken(:",
        'df.to_csv(OUT + "/t.csv")\ndf.to_csv(OUT + "/t.csv")',  # the same file once
    ]
    found = notebook_files(cells)
    assert found.writes == ["output/t.csv"]
    assert found.unreadable_cells == 1
    notebook = {
        "cells": [
            {"cell_type": "markdown", "source": "x"},
            {"cell_type": "code", "source": ["a", "b"]},
        ]
    }
    assert code_cells(notebook) == ["ab"]


def test_the_proposal_declares_the_html_the_notebook_and_what_it_writes_and_needs_its_makers():
    pipeline = load_pipeline((SAMPLE_PROJECT / "project.yaml").read_text())
    found = notebook_files(
        [
            'df = pd.read_csv("output/dataset.csv")\n'
            'm = pd.read_csv("output/measures_by_region.csv")\n'
            'codes = pd.read_csv("codelists/x.csv")\n'
            'df.to_csv("output/explore_table.csv")\n'
            'plt.savefig("output/explore.png")\n'
            'df.to_pickle("output/model.pkl")\n'
            'df.to_csv("output/explore.html")\n'  # the HTML is declared once
            'df.to_csv("metadata/x.csv")\n'
        ]
    )
    proposal = propose(pipeline, "analysis/Explore Data.ipynb", found)
    assert proposal["name"] == "explore_data"
    assert proposal["run"] == "jupyter:v1 'analysis/Explore Data.ipynb'"
    assert proposal["needs"] == ["generate_dataset", "derive_measures"]
    assert proposal["outputs"] == {
        "moderately_sensitive": {
            "html": "output/Explore Data.html",
            "explore_table": "output/explore_table.csv",
            "explore": "output/explore.png",
            "explore_2": "output/explore.html",
        },
        "highly_sensitive": {"notebook": "output/Explore Data.ipynb", "model": "output/model.pkl"},
    }
    assert any("metadata/x.csv" in note for note in proposal["notes"])
    name, entry = entry_from(proposal, "analysis/Explore Data.ipynb")
    assert name == "explore_data" and list(entry) == ["run", "needs", "outputs"]


def test_a_proposed_name_is_safe_and_unique():
    assert proposed_name("a/explore.ipynb", set()) == "explore"
    assert proposed_name("a/explore.ipynb", {"explore", "explore_2"}) == "explore_3"
    assert proposed_name("a/01 first look.ipynb", set()) == "notebook_01_first_look"
    assert proposed_name("run_all.ipynb", set()) == "run_all_2"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"name": "../x", "outputs": {"highly_sensitive": {"a": "a.csv"}}}, "name"),
        ({"name": "x", "needs": "a", "outputs": {"highly_sensitive": {"a": "a.csv"}}}, "needs"),
        ({"name": "x", "outputs": {}}, "outputs"),
        ({"name": "x", "outputs": {"secret": {"a": "a.csv"}}}, "not a privacy level"),
        ({"name": "x", "outputs": {"highly_sensitive": {"a": 3}}}, "pattern"),
        ({"name": "x", "outputs": {"highly_sensitive": {}}}, "at least one output"),
        ({"name": "x", "outputs": {"highly_sensitive": {"a": "a.csv"}}, "config": [1]}, "config"),
    ],
)
def test_an_entry_that_cannot_be_written_is_refused_in_a_sentence(body, says):
    with pytest.raises(ValueError, match=says):
        entry_from(body, "a.ipynb")
