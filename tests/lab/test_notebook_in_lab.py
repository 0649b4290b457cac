"""A learner's first notebook in JupyterLab: every cell runs, the widgets render, the job succeeds.

The getting-started notebook is opened in a real JupyterLab (the workspace server's),
run with Run All, and followed in Chromium until the kernel is idle with every code cell
executed; no cell may end in an error. Screenshots show what a learner sees.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01-getting-started.ipynb"
TIMEOUT = 60_000

STATE = """() => {
  const widget = window.jupyterapp.shell.currentWidget;
  if (!widget || !widget.content || !widget.sessionContext) return null;
  const kernel = widget.sessionContext.session && widget.sessionContext.session.kernel;
  const cells = [];
  for (const cell of widget.content.model.cells) {
    if (cell.type !== 'code') continue;
    const outputs = cell.sharedModel.outputs || [];
    const text = o => (o.text || '') + ((o.data && o.data['text/plain']) || '') +
                      (o.ename ? o.ename + ': ' + o.evalue : '');
    cells.push({count: cell.executionCount, text: outputs.map(text).join(''),
                error: outputs.some(o => o.output_type === 'error')});
  }
  return {kernel: kernel ? kernel.status : null, cells};
}"""


def test_the_getting_started_notebook_runs_in_lab_with_its_widgets(lab, checkout, page, shots):
    shutil.copy(NOTEBOOK, checkout / NOTEBOOK.name)
    page.goto(lab.page_url(f"lab/tree/{NOTEBOOK.name}"), timeout=TIMEOUT)
    page.locator(".jp-Notebook").wait_for(timeout=TIMEOUT)
    page.wait_for_function(
        "() => { const w = window.jupyterapp.shell.currentWidget;"
        " return w && w.sessionContext && w.sessionContext.session &&"
        " w.sessionContext.session.kernel &&"
        " w.sessionContext.session.kernel.status === 'idle'; }",
        timeout=TIMEOUT,
    )
    shots(page, "notebook-01-opened")
    page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
    deadline = time.monotonic() + 300
    while True:
        state = page.evaluate(STATE)
        done = state and state["kernel"] == "idle" and all(c["count"] for c in state["cells"])
        if done or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    failed = [c["text"][-500:] for c in state["cells"] if c["error"]]
    assert done and not failed, f"cells failed or never ran: {failed or state}"
    # the widgets rendered as widgets, not as their text form
    outputs = page.locator(".jp-OutputArea")
    outputs.locator(".widget-checkbox").first.wait_for(timeout=TIMEOUT)
    outputs.locator(".widget-button", has_text="Run").first.wait_for(timeout=TIMEOUT)
    page.locator(".jp-OutputArea", has_text="generate_dataset").first.wait_for(timeout=TIMEOUT)
    assert "succeeded" in "".join(c["text"] for c in state["cells"])
    page.locator(".widget-html", has_text="succeeded").first.scroll_into_view_if_needed()
    print(f"screenshot: {shots(page, 'notebook-01-ran')}")
    assert not page.errors, page.errors
