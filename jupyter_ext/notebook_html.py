"""The cells of an executed notebook's HTML, so an output checker can review it cell by cell.

The runner renders a notebook action with nbconvert's lab template, each cell's wrapper
carrying the anchor `cell-id=cell-N`. This reads that HTML back into cells: for each, its
anchor, kind, prompt, first line of code, the kinds of its outputs (text, error, table,
image, html) and its own stretch of the HTML. The HTML is the job's, so hostile: the
summaries are plain text (escaped where shown), the stretches are only ever shown in a
sandboxed frame, and a file that is not such a notebook simply has no cells.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

ANCHOR_PREFIX = "cell-id="
INJECTED = "# Parameters injected by jupyter-ext"  # the first line of the runner's own cell
MAX_CELLS = 10_000
FIRST_LINE_CHARACTERS = 120
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class NotebookCell:
    number: int  # 1-based, in the order of the page
    anchor: str  # the element id: `cell-id=cell-3`
    kind: str  # code, markdown or raw
    prompt: str = ""  # "In [2]:"
    first_line: str = ""  # of its code, or of its text for markdown
    outputs: list[str] = field(default_factory=list)  # text, error, table, image, html
    start: int = 0  # its stretch of the HTML: html[start:end]
    end: int = 0

    @property
    def failed(self) -> bool:
        return "error" in self.outputs

    @property
    def injected(self) -> bool:
        """The runner's cell of parameters (as the job's HTML says: a hint, not a proof)."""
        return self.kind == "code" and self.first_line == INJECTED


class _CellReader(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text = text
        self.lines = [0]
        for line in text.splitlines(keepends=True):
            self.lines.append(self.lines[-1] + len(line))
        self.cells: list[NotebookCell] = []
        self.depth = 0
        self.cell_depth: int | None = None
        self.reading: str | None = None  # "prompt", "code" or "markdown": text being gathered
        self.reading_depth = 0
        self.gathered: list[str] = []
        self.output_mime: list[tuple[int, str]] = []  # (depth, mime) of open output areas

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in VOID:
            self._void(tag)
            return
        self.depth += 1
        values = {k: v or "" for k, v in attrs}
        classes = set(values.get("class", "").split())
        anchor = values.get("id", "")
        if self.cell_depth is None:
            if anchor.startswith(ANCHOR_PREFIX) and len(self.cells) < MAX_CELLS:
                kind = next(
                    (
                        k
                        for k in ("code", "markdown", "raw")
                        if f"jp-{k.capitalize()}Cell" in classes
                    ),
                    "code",
                )
                cell = NotebookCell(len(self.cells) + 1, anchor, kind, start=self._offset())
                self.cells.append(cell)
                self.cell_depth = self.depth
            return
        cell = self.cells[-1]
        if self.reading is None:
            if "jp-InputPrompt" in classes:
                self._read("prompt")
            elif tag == "pre" and not self.output_mime and not cell.first_line:
                self._read("code")
            elif "jp-MarkdownOutput" in classes and not cell.first_line:
                self._read("markdown")
        if "jp-OutputArea-output" in classes:
            self.output_mime.append((self.depth, values.get("data-mime-type", "")))
            self._output(_output_kind(values.get("data-mime-type", "")))
        elif tag == "table" and self.output_mime:
            self._output("table")

    def _void(self, tag: str) -> None:
        if tag == "img" and self.cell_depth is not None and self.output_mime:
            self._output("image")

    def _output(self, kind: str) -> None:
        outputs = self.cells[-1].outputs
        if kind and kind not in outputs:
            outputs.append(kind)

    def _read(self, what: str) -> None:
        self.reading, self.reading_depth, self.gathered = what, self.depth, []

    def handle_data(self, data: str) -> None:
        if self.reading is not None:
            self.gathered.append(data)
        if self.output_mime and self.output_mime[-1][1].endswith("stderr") and "Traceback" in data:
            self._output("error")

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if self.reading is not None and self.depth == self.reading_depth:
            self._finish_reading()
        if self.output_mime and self.output_mime[-1][0] == self.depth:
            self.output_mime.pop()
        if self.cell_depth is not None and self.depth == self.cell_depth:
            self.cells[-1].end = self._offset() + len(f"</{tag}>")
            self.cell_depth = None
            self.output_mime = []
        self.depth = max(0, self.depth - 1)

    def _finish_reading(self) -> None:
        text = "".join(self.gathered).replace("¶", "").strip()
        cell = self.cells[-1]
        if self.reading == "prompt":
            cell.prompt = text
        else:
            line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
            cell.first_line = line[:FIRST_LINE_CHARACTERS]
        self.reading = None


def _output_kind(mime: str) -> str:
    if mime.endswith("stderr"):
        return "text"  # an error, if a traceback follows
    if mime.startswith("image/"):
        return "image"
    if mime == "text/html":
        return "html"
    return "text" if mime else ""


def notebook_cells(text: str) -> list[NotebookCell]:
    """The cells of an executed notebook's HTML, in order; none if it is not one."""
    reader = _CellReader(text)
    reader.feed(text)
    reader.close()
    for cell in reader.cells:
        cell.end = cell.end or len(text)
    return reader.cells
