"""An executed notebook's HTML, reviewed cell by cell: read back into cells (hostile HTML
included), and shown in the file page as an outline beside the sandboxed notebook."""

from __future__ import annotations

import nbformat
import pytest
from nbconvert import HTMLExporter

from jupyter_ext.notebook_html import notebook_cells

from .test_pages import get
from .test_pages_chain import released_chain

TRACEBACK = [
    "\x1b[31m----------------------------------------\x1b[39m",
    "\x1b[31mZeroDivisionError\x1b[39m    Traceback (most recent call last)",
    "ZeroDivisionError: division by zero",
]


def executed_notebook_html() -> bytes:
    """What the runner renders (nbconvert's lab template, cells anchored `cell-N`), with the
    outputs a run would leave: text, a table, an image, an error."""
    v4 = nbformat.v4
    cells = [
        v4.new_markdown_cell("# Admissions by region"),
        v4.new_code_cell('region = "north"', metadata={"tags": ["parameters"]}),
        v4.new_code_cell(
            "print(counts)",
            outputs=[v4.new_output("stream", name="stdout", text="north 35\n")],
        ),
        v4.new_code_cell(
            "table",
            outputs=[
                v4.new_output(
                    "execute_result",
                    data={"text/html": "<table><tr><td>35</td></tr></table>", "text/plain": "35"},
                    execution_count=3,
                )
            ],
        ),
        v4.new_code_cell(
            "plot()",
            outputs=[v4.new_output("display_data", data={"image/png": "iVBORw0KGgo="})],
        ),
        v4.new_code_cell(
            "1/0",
            outputs=[
                v4.new_output(
                    "error",
                    ename="ZeroDivisionError",
                    evalue="division by zero",
                    traceback=TRACEBACK,
                )
            ],
        ),
    ]
    notebook = v4.new_notebook(cells=cells)
    for number, cell in enumerate(notebook.cells, 1):
        cell.id = f"cell-{number}"
    body, _ = HTMLExporter(template_name="lab", embed_images=True).from_notebook_node(notebook)
    return body.encode()


def test_the_cells_of_an_executed_notebook_with_what_each_shows():
    cells = notebook_cells(executed_notebook_html().decode())
    summary = [(c.number, c.anchor, c.kind, c.first_line, c.outputs) for c in cells]
    assert summary == [
        (1, "cell-id=cell-1", "markdown", "Admissions by region", []),
        (2, "cell-id=cell-2", "code", 'region = "north"', []),
        (3, "cell-id=cell-3", "code", "print(counts)", ["text"]),
        (4, "cell-id=cell-4", "code", "table", ["html", "table"]),
        (5, "cell-id=cell-5", "code", "plot()", ["image"]),
        (6, "cell-id=cell-6", "code", "1/0", ["text", "error"]),
    ]
    assert [c.failed for c in cells] == [False] * 5 + [True]
    assert not any(c.injected for c in cells)
    (injected,) = notebook_cells(
        '<div id="cell-id=cell-3" class="jp-Cell jp-CodeCell"><pre># Parameters injected by '
        "jupyter-ext\nmin_age = 65</pre></div>"
    )
    assert injected.injected and injected.first_line.startswith("# Parameters injected")
    html = executed_notebook_html().decode()
    assert html[cells[2].start : cells[2].end].startswith('<div class="jp-Cell')
    assert "north 35" in html[cells[2].start : cells[2].end]


@pytest.mark.parametrize(
    ("hostile", "count"),
    [
        ("<html><body><p>not a notebook</p></body></html>", 0),
        ("<div id='cell-id=x'><div><pre>unclosed" * 3, 1),  # anchors inside a cell are its own
        ("<div id='cell-id=a'><script>alert(1)</script><img src=x onerror=alert(1)></div>", 1),
        ("", 0),
        ("<" * 10_000, 0),
    ],
)
def test_html_that_is_not_a_rendered_notebook_is_read_without_error(hostile, count):
    cells = notebook_cells(hostile)
    assert len(cells) == count
    assert all(0 <= c.start < c.end <= len(hostile) for c in cells)


def test_the_file_page_shows_the_outline_beside_the_sandboxed_notebook(world):
    released_chain(world, executed_notebook_html(), "output/explore.html")
    page = get(world, "collab", f"{world.here}/files/{world.files['output/explore.html']}")
    assert page.status_code == 200
    text = page.text
    assert text.count('target="notebook-view"') == 6
    assert (
        '<iframe class="jx-markdown border" name="notebook-view" id="notebook-view" sandbox' in text
    )
    assert 'list-group-item list-group-item-danger" id="outline-6"' in text  # the failed cell
    assert "out: html, table" in text and "failed here" in text
    assert "<table><tr><td>35" not in text  # the notebook's own HTML is only in the frame


def test_the_review_widget_steps_through_the_cells_in_sandboxed_frames():
    from jupyter_ext.widgets.notebook_cells import NotebookCells
    from jupyter_ext.widgets.review_queue import shown

    viewer = shown("output/explore.html", executed_notebook_html())
    assert isinstance(viewer, NotebookCells) and len(viewer.cells) == 6
    assert viewer.previous.disabled and "Cell 1 of 6: markdown" in viewer.where.value
    viewer.next.click()
    viewer.next.click()
    assert "Cell 3 of 6: code" in viewer.where.value and "out: text" in viewer.where.value
    assert viewer.frame.value.startswith("<iframe sandbox srcdoc=")
    assert "<div" not in viewer.frame.value  # the cell's HTML is only the frame's, escaped
    viewer.show(99)
    assert viewer.next.disabled and "failed here" in viewer.where.value
    plain = shown("output/page.html", b"<p>not a notebook</p>")
    assert "&lt;p&gt;" in plain.value
