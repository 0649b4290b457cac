"""`NotebookCells`: an executed notebook's HTML shown one cell at a time, for its reviewer.

Each cell is the job's own HTML, so it is shown only inside a sandboxed frame (no script,
no forms, nothing loaded from elsewhere by the frame's policy); the words around it (which
cell, what it outputs, whether it failed) are read from the HTML as escaped text."""

from __future__ import annotations

import html

import ipywidgets as w

from ..notebook_html import NotebookCell, notebook_cells

FRAME_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
FRAME_STYLE = "body{font-family:sans-serif;font-size:13px} pre{white-space:pre-wrap}"


def cell_frame(text: str, cell: NotebookCell) -> str:
    """The cell's stretch of the HTML as a sandboxed frame's document."""
    document = (
        f'<meta http-equiv="Content-Security-Policy" content="{FRAME_POLICY}">'
        f"<style>{FRAME_STYLE}</style>{text[cell.start : cell.end]}"
    )
    return (
        f'<iframe sandbox srcdoc="{html.escape(document, quote=True)}" '
        f'title="cell {cell.number}" style="width:100%;height:320px;border:1px solid #ccc">'
        "</iframe>"
    )


class NotebookCells(w.VBox):
    """Previous / Next through the cells; `at` is the cell shown (0-based)."""

    def __init__(self, text: str) -> None:
        self.text, self.cells, self.at = text, notebook_cells(text), 0
        self.previous = w.Button(description="Previous cell", icon="arrow-left")
        self.next = w.Button(description="Next cell", icon="arrow-right")
        self.where, self.frame = w.HTML(), w.HTML()
        self.previous.on_click(lambda _: self.show(self.at - 1))
        self.next.on_click(lambda _: self.show(self.at + 1))
        super().__init__([w.HBox([self.previous, self.next, self.where]), self.frame])
        self.show(0)

    def show(self, at: int) -> None:
        self.at = max(0, min(at, len(self.cells) - 1))
        cell = self.cells[self.at]
        outputs = f", out: {', '.join(cell.outputs)}" if cell.outputs else ""
        failed = " — <b>failed here</b>" if cell.failed else ""
        failed += " (the parameters injected for this run)" if cell.injected else ""
        self.where.value = (
            f"Cell {cell.number} of {len(self.cells)}: {cell.kind} "
            f"{html.escape(cell.prompt)}{outputs}{failed}"
        )
        self.frame.value = cell_frame(self.text, cell)
        self.previous.disabled, self.next.disabled = self.at == 0, self.at == len(self.cells) - 1
