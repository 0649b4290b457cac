"""`ReleaseBrowser`: released files: CSV as a table, images inline, text as text; download.

Files are fetched through the client (sha256 checked) and shown as data, never as
HTML or script: a CSV's cells are escaped, an image is bytes in an Image widget.
"""

from __future__ import annotations

import csv
import html
import io
import tempfile
from pathlib import Path

import ipywidgets as w

from ..client import Client, Release
from ._base import TextForm, default_client, error_text

IMAGES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".gif": "gif", ".svg": "svg+xml"}
TEXT = {".txt", ".md", ".json", ".log"}
SHOWN_ROWS = 50


class ReleaseBrowser(TextForm):
    def __init__(
        self,
        release: Release | str | None = None,
        client: Client | None = None,
        workspace: str | None = None,
        download_to: str | Path = "released",
    ) -> None:
        super().__init__()
        self.client = default_client(client)
        self.download_to = Path(download_to)
        if release is None:
            found = list(self.client.releases.list(workspace or self.client.workspace))
            released = [r for r in found if any(f.uploaded for f in r.files)]
            release = released[0] if released else None
        elif isinstance(release, str):
            release = self.client.releases.get(release)
        self.release = release
        self.files = [f for f in release.files if f.uploaded] if release else []
        self.picker = w.Dropdown(options=[(f.path, f.id) for f in self.files], description="File")
        self.view = w.VBox()
        self.save = w.Button(description="Download", icon="download")
        self.note = w.HTML()
        self.picker.observe(lambda _: self.show(), "value")
        self.save.on_click(lambda _: self.download())
        head = (
            f"<b>Release <code>{release.id}</code></b> of {html.escape(release.workspace)}: "
            f"{len(self.files)} released files"
            if release
            else "<b>No released files yet.</b>"
        )
        self.children = [w.HTML(head), w.HBox([self.picker, self.save]), self.view, self.note]
        if self.files:
            self.show()

    @property
    def current(self):
        return next((f for f in self.files if f.id == self.picker.value), None)

    def _fetch(self, file) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            path = self.client.releases.download(file, Path(tmp) / Path(file.path).name)
            return Path(path).read_bytes()

    def show(self) -> None:
        file = self.current
        if file is None:
            return
        try:
            data = self._fetch(file)
        except Exception as exc:
            self.note.value = html.escape(error_text(exc))
            return
        suffix = Path(file.path).suffix.lower()
        if suffix == ".csv":
            rows = list(csv.reader(io.StringIO(data.decode("utf-8", errors="replace"))))
            self.view.children = [w.HTML(_table(rows))]
        elif suffix in IMAGES:
            self.view.children = [w.Image(value=data, format=IMAGES[suffix])]
        elif suffix in TEXT:
            self.view.children = [
                w.HTML(f"<pre>{html.escape(data.decode(errors='replace'))}</pre>")
            ]
        else:
            self.view.children = [w.HTML(f"{file.size} bytes: download it to open it")]

    def download(self) -> Path | None:
        """Save the shown file under `download_to` (sha256 checked); returns its path."""
        file = self.current
        if file is None:
            return None
        target = self.download_to / self.release.id / file.path
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            saved = Path(self.client.releases.download(file, target))
        except Exception as exc:
            self.note.value = html.escape(error_text(exc))
            return None
        self.note.value = f"Saved to <code>{html.escape(str(saved))}</code>"
        return saved

    def text(self) -> str:
        if self.release is None:
            return "No released files yet."
        return "\n".join([f"Release {self.release.id}:", *(f"  {f.path}" for f in self.files)])


def _table(rows: list[list[str]]) -> str:
    head, body = (rows[0], rows[1 : SHOWN_ROWS + 1]) if rows else ([], [])
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body
    )
    more = f"<i>{len(rows) - 1 - len(body)} more rows</i>" if len(rows) - 1 > len(body) else ""
    heads = "".join(f"<th>{html.escape(c)}</th>" for c in head)
    return f"<table><tr>{heads}</tr>{cells}</table>{more}"
