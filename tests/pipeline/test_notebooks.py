"""Notebook actions: both forms of their command, and their parameters checked by kind."""

from __future__ import annotations

import json

import pytest

from jupyter_ext.pipeline.notebooks import (
    CELL_TIMEOUT,
    NotebookCommand,
    NotebookError,
    check_parameters,
    notebook_command,
    read_notebook,
)


def notebook(*cells: tuple[str, str, list[str]]) -> str:
    """A notebook's JSON from (cell type, source, tags) triples."""
    return json.dumps(
        {
            "nbformat": 4,
            "nbformat_minor": 5,
            "metadata": {},
            "cells": [
                {"cell_type": kind, "metadata": {"tags": tags}, "source": source}
                for kind, source, tags in cells
            ],
        }
    )


PARAMETERS = """region = "north"
threshold: int = 10
rate = 0.5
verbose = False
columns = ["a"]
when = compute()
"""


def test_our_form_with_its_defaults():
    command = notebook_command(["analysis/explore.ipynb"])
    assert command == NotebookCommand(
        "analysis/explore.ipynb", "output/explore.html", "output/explore.ipynb", CELL_TIMEOUT
    )
    assert command.args() == [
        "analysis/explore.ipynb",
        "--html",
        "output/explore.html",
        "--cell-timeout",
        "600",
        "--ipynb",
        "output/explore.ipynb",
    ]


def test_our_form_with_every_option():
    command = notebook_command(
        [
            *("nb/a.ipynb", "--html=out/a.html", "--ipynb", "out/a.ipynb"),
            *("--cell-timeout", "5", "--timeout", "60", "--no-input"),
        ]
    )
    assert (command.html, command.ipynb, command.cell_timeout, command.timeout) == (
        "out/a.html",
        "out/a.ipynb",
        5.0,
        60.0,
    )
    assert command.no_input and notebook_command(command.args()) == command


def test_the_opensafely_nbconvert_form_runs_unchanged():
    args = [
        "jupyter",
        "nbconvert",
        "/workspace/analysis/report.ipynb",
        "--execute",
        "--to",
        "html",
        "--template",
        "basic",
        "--output-dir=/workspace/output",
        "--ExecutePreprocessor.timeout=86400",
        "--no-input",
    ]
    command = notebook_command(args)
    assert (command.notebook, command.html, command.ipynb) == (
        "analysis/report.ipynb",
        "output/report.html",
        None,
    )
    assert command.cell_timeout == 86400 and command.no_input
    assert command.ignored == ("--template=basic",)


def test_nbconvert_form_writes_beside_the_notebook_by_default():
    command = notebook_command(["jupyter", "nbconvert", "analysis/r.ipynb", "--execute"])
    assert command.html == "analysis/r.html"


@pytest.mark.parametrize(
    ("args", "says"),
    [
        ([], "runs one notebook"),
        (["analysis/a.py"], "runs one notebook"),
        (["a.ipynb", "b.ipynb"], "runs one notebook"),
        (["a.ipynb", "--bogus"], "not --bogus"),
        (["../a.ipynb"], "not a path inside the repository"),
        (["/etc/a.ipynb"], "not a path inside the repository"),
        (["a.ipynb", "--html", "/workspace/../x.html"], "not a path inside"),
        (["a.ipynb", "--cell-timeout", "soon"], "takes seconds"),
        (["a.ipynb", "--timeout", "0"], "takes seconds"),
        (["a.ipynb", "--html"], "--html needs a value"),
        (["jupyter", "nbconvert", "a.ipynb", "--to", "pdf"], "to HTML here"),
    ],
)
def test_commands_that_cannot_run_say_what_to_write(args, says):
    with pytest.raises(NotebookError, match=says):
        notebook_command(args)


def test_the_parameters_cell_declares_names_with_kinds():
    info = read_notebook(
        notebook(("markdown", "# x", []), ("code", PARAMETERS, ["parameters"])), "a.ipynb"
    )
    assert info.cells == 2 and info.has_parameters_cell
    kinds = {name: p.kind for name, p in info.parameters.items()}
    assert kinds == {
        "region": "str",
        "threshold": "int",
        "rate": "float",
        "verbose": "bool",
        "columns": "list",
        "when": "any",
    }


def test_values_of_their_kind_pass_and_undeclared_ones_warn():
    info = read_notebook(notebook(("code", PARAMETERS, ["parameters"])))
    values = {"region": "south", "threshold": 5, "rate": 1, "when": {"a": 1}, "extra": 1}
    warnings = check_parameters(info, values, "a.ipynb")
    assert warnings == [
        "a.ipynb does not declare the parameter extra in its parameters cell: "
        "it is set all the same"
    ]


@pytest.mark.parametrize(
    ("values", "says"),
    [
        ({"threshold": "5"}, 'takes a whole number \\(its default is 10\\), not "5"'),
        ({"threshold": True}, "takes a whole number"),
        ({"rate": "x"}, "takes a number"),
        ({"verbose": 1}, "takes true or false"),
        ({"columns": {}}, "takes a list"),
        ({"class": 1}, "'class' cannot be a parameter"),
        ({"x" * 10: "y" * 70_000}, "keep them under 64 KB"),
    ],
)
def test_a_value_of_the_wrong_kind_is_refused(values, says):
    info = read_notebook(notebook(("code", PARAMETERS, ["parameters"])))
    with pytest.raises(NotebookError, match=says):
        check_parameters(info, values, "a.ipynb")


def test_a_notebook_without_a_parameters_cell_warns_of_every_value():
    info = read_notebook(notebook(("code", "x = 1", [])))
    assert not info.has_parameters_cell
    (warning,) = check_parameters(info, {"x": 2}, "a.ipynb")
    assert "a cell tagged parameters" in warning


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "no list of cells"),
        ('{"cells": [1]}', "no list of cells"),
        (notebook(("code", "x = (", ["parameters"])), "parameters cell of a.ipynb is not valid"),
    ],
)
def test_what_is_not_a_notebook_is_refused(text, says):
    with pytest.raises(NotebookError, match=says):
        read_notebook(text, "a.ipynb")
