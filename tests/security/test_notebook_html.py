"""An executed notebook's HTML that attacks its checker, opened in real Chromium.

A notebook's outputs are the job's to choose: here a cell's HTML output carries a script
tag, an `onerror` image and an image and a frame that would call a canary server on
127.0.0.1, and a markdown cell a `javascript:` link. Its file page shows the outline of its
cells beside the notebook in a sandboxed frame; moving from cell to cell works, nothing in
it runs (the page's title and a global stay as they were, no dialog opens), and the canary
hears nothing: the frame has no permission, and the file comes with a policy that loads
nothing.
"""

from __future__ import annotations

import nbformat
import pytest
from nbconvert import HTMLExporter

from .hostile_pages import (
    Canary,
    canary,  # noqa: F401 (a server that hears who calls)
    released_page,
)

pytestmark = pytest.mark.slow


def hostile_notebook(calls_to: str) -> bytes:
    v4 = nbformat.v4
    attack = (
        "<table><tr><td>35</td></tr></table>"
        "<script>window.top.pwned = 1; document.title = 'pwned'</script>"
        f"<img src='{calls_to}/img-tag' onerror='window.top.pwned = 2'>"
        f"<iframe src='{calls_to}/frame'></iframe>"
    )
    notebook = v4.new_notebook(
        cells=[
            v4.new_markdown_cell("# Counts\n[click me](javascript:window.top.pwned=3)"),
            v4.new_code_cell(
                "show(table)",
                outputs=[v4.new_output("display_data", data={"text/html": attack})],
            ),
            v4.new_code_cell("print('done')", outputs=[v4.new_output("stream", text="done\n")]),
        ]
    )
    for number, cell in enumerate(notebook.cells, 1):
        cell.id = f"cell-{number}"
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(notebook)
    return body.encode()


def test_a_hostile_notebook_runs_nothing_in_its_checkers_page(tmp_path, canary):  # noqa: F811
    notebook = hostile_notebook(canary)
    with released_page(tmp_path, notebook, "output/counts.html", "notebook-review.png") as page:
        assert page.locator("iframe#notebook-view").get_attribute("sandbox") == ""
        assert page.locator("#notebook-cells li").count() == 3
        frame = page.frame_locator("iframe#notebook-view")
        frame.locator("td", has_text="35").wait_for()
        page.locator("#outline-3 a").click()  # to the third cell, within the frame
        frame.locator("text=click me").click()
    assert Canary.heard == [], Canary.heard
