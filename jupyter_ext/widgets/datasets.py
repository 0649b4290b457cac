"""`DatasetBrowser`: the datasets a project may use, and the others of its backends.

Each dataset with what its site lets leave: its description, owner, versions and the
newest version's manifest (files, sizes, rows, columns and their types, never a value),
and a **Load dummy data** button that shows the first rows of its dummy data (a synthetic
stand-in made to leave the site). A dataset the project may not use yet has an **Ask to
use** form: the purpose goes to a Governance Reviewer, who decides. Everything shown is
escaped: a column name or a description is data, never markup.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

from ..client import AccessRequest, Client, Dataset
from ._base import TextForm, default_client, error_text
from .findings import ERROR, GOOD, MUTED, WARN, coloured, size_text

SHOWN_ROWS = 10
OPEN_STATES = ("requested",)


class DatasetCard(w.VBox):
    """One dataset: its description and manifest, its dummy data on demand, and (for one the
    project may not use) the form to ask."""

    def __init__(
        self,
        client: Client,
        dataset: Dataset,
        project: str | None,
        usable: bool,
        request: AccessRequest | None = None,
    ) -> None:
        super().__init__(layout=w.Layout(margin="0 0 1.5em 0"))
        self.client, self.dataset, self.project, self.usable = client, dataset, project, usable
        self.request = request
        self.details = w.HTML(self._details())
        none = "" if dataset.has_dummy else "It has no dummy data"
        self.load = w.Button(
            description="Load dummy data",
            icon="table",
            tooltip=none,
            disabled=not dataset.has_dummy,
        )
        self.load.on_click(lambda _: self.load_dummy())
        self.preview = w.VBox()
        self.dummy: dict[str, Any] = {}
        rows: list[w.Widget] = [self.details, self.load, self.preview]
        self.purpose = w.Textarea(
            placeholder="What the project will use it for (a Governance Reviewer reads this)",
            layout=w.Layout(width="95%"),
        )
        self.ask = w.Button(description="Ask to use", icon="paper-plane", button_style="primary")
        self.ask.on_click(lambda _: self.ask_to_use())
        self.outcome = w.HTML(self._asked())
        if not usable:
            self.ask.disabled = request is not None and request.state in OPEN_STATES
            rows += [self.purpose, self.ask, self.outcome]
        self.children = rows

    def _details(self) -> str:
        d = self.dataset
        head = (
            f"<b>{html.escape(d.name)}</b> on {html.escape(d.backend)}, held by "
            f"{html.escape(d.owner)}"
        )
        if d.status == "retired":
            head += " " + coloured("retired", MUTED)
        lines = [head, *(html.escape(line) for line in d.description.splitlines())]
        if d.versions:
            versions = ", ".join(
                f"{v.version} ({v.created_at:%Y-%m-%d}, sha256 <code>{v.manifest.sha256[:12]}"
                "…</code>)"
                for v in d.versions
            )
            lines.append(f"Versions: {versions}")
            lines.append(f"<b>Version {d.latest.version}'s files</b>")
            lines.append(_manifest_html(d.latest.manifest))
        return "<br>".join(lines)

    def _asked(self) -> str:
        r = self.request
        if r is None or self.usable:
            return ""
        when = f"{r.requested_at:%Y-%m-%d}"
        if r.state in OPEN_STATES:
            return coloured(
                f"{r.requested_by} asked on {when}; a Governance Reviewer decides.", WARN
            )
        said = f": {r.reason}" if r.reason else ""
        return coloured(f"The last request ({r.requested_by}, {when}) was {r.state}{said}.", MUTED)

    def load_dummy(self) -> dict[str, Any]:
        """Fetch the dummy data's tables and show their first rows (what the button does);
        returns each table's rows by path."""
        try:
            version = next(v for v in self.dataset.versions if v.dummy and v.dummy.files)
            tables = [f for f in version.dummy.files if f.columns is not None]
            others = [f for f in version.dummy.files if f.columns is None]
            self.dummy = {
                f.path: self.client.datasets.dummy(
                    self.dataset, path=f.path, version=version.version
                )
                for f in tables
            }
        except StopIteration:
            self.preview.children = [w.HTML(coloured("It has no dummy data.", MUTED))]
            return {}
        except Exception as exc:
            self.preview.children = [w.HTML(coloured(error_text(exc), ERROR))]
            return {}
        head = (
            f"<b>Dummy data</b> of version {version.version}: made up, with the real "
            "data's columns; develop on it, run on the real data as a job"
        )
        shown = [w.HTML(head)]
        for path, rows in self.dummy.items():
            more = len(rows) - SHOWN_ROWS
            note = f" (first {SHOWN_ROWS} of {len(rows)} rows)" if more > 0 else ""
            shown.append(w.HTML(f"<code>{html.escape(path)}</code>{note}" + _rows_html(rows)))
        if others:
            names = ", ".join(html.escape(f.path) for f in others)
            shown.append(
                w.HTML(
                    f"Other files: {names} (<code>client.datasets.dummy(name, "
                    "path=...)</code> gives their bytes)"
                )
            )
        self.preview.children = shown
        return self.dummy

    def ask_to_use(self) -> AccessRequest | None:
        """Send the request with the purpose typed (what the button does)."""
        purpose = self.purpose.value.strip()
        if not purpose:
            self.outcome.value = coloured("Say what the project will use it for.", ERROR)
            return None
        self.ask.disabled = True
        try:
            made = self.client.datasets.request(self.dataset, purpose, project=self.project)
        except Exception as exc:
            self.ask.disabled = False
            self.outcome.value = coloured(error_text(exc), ERROR)
            return None
        self.request = made
        self.outcome.value = coloured(
            f"Asked ({made.id}): a Governance Reviewer decides; the dataset moves to the "
            "project's own once approved (Refresh).",
            GOOD,
        )
        return made

    def text(self) -> str:
        d = self.dataset
        lines = [f"  {d.name} on {d.backend} ({d.owner}): {d.description.splitlines()[0]}"]
        if d.versions:
            for f in d.latest.manifest.files:
                columns = ", ".join(f"{c.name} {c.type}" for c in f.columns or [])
                rows = f", {f.rows} rows" if f.rows is not None else ""
                lines.append(f"    {f.path}{rows}" + (f": {columns}" if columns else ""))
        if self.request is not None and not self.usable:
            lines.append(f"    asked: {self.request.state}")
        return "\n".join(lines)


def _manifest_html(manifest) -> str:
    rows = []
    for f in manifest.files:
        shape = f"{f.rows:,} rows" if f.rows is not None else ""
        columns = ", ".join(
            f"{html.escape(c.name)} <i>{html.escape(c.type)}</i>" for c in f.columns or []
        )
        rows.append(
            f"<tr><td><code>{html.escape(f.path)}</code></td><td>{size_text(f.size)}"
            f"</td><td>{shape}</td><td>{columns}</td></tr>"
        )
    head = "<tr><th>file</th><th>size</th><th>rows</th><th>columns and types</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def _rows_html(rows: list[dict[str, Any]]) -> str:
    if not rows:
        return "<br><i>no rows</i>"
    names = list(rows[0])
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(row.get(n))}</td>" for n in names) + "</tr>"
        for row in rows[:SHOWN_ROWS]
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _cell(value: Any) -> str:
    if value is None:
        return coloured("—", MUTED)
    return html.escape(value.isoformat() if hasattr(value, "isoformat") else str(value))


class DatasetBrowser(TextForm):
    """The datasets the workspace's project (or `project`) may use, and in a second tab the
    others of the backends one may use, each with the form to ask for it."""

    def __init__(self, client: Client | None = None, project: str | None = None) -> None:
        super().__init__()
        self.client = default_client(client)
        self.project = project
        self.cards: dict[tuple[str, str], DatasetCard] = {}
        self.reload = w.Button(description="Refresh", icon="refresh")
        self.reload.on_click(lambda _: self.refresh())
        self.message = w.HTML()
        self.tabs = w.Tab()
        self.refresh()

    def refresh(self) -> None:
        """Read the datasets and the project's requests again."""
        try:
            if self.project is None:
                self.project = self.client.workspaces.get().project
            usable = self.client.datasets.usable(self.project)
            backends = [b.slug for b in self.client.backends.list()]
            every = [d for b in backends for d in self.client.datasets.list(backend=b)]
            asked = list(self.client.datasets.access(project=self.project))
        except Exception as exc:
            self.message.value = coloured(f"Cannot read the datasets: {error_text(exc)}", ERROR)
            self.children = [w.HBox([self.reload, self.message])]
            return
        mine = {(d.backend, d.name) for d in usable}
        others = [d for d in every if (d.backend, d.name) not in mine and d.status == "active"]
        latest: dict[tuple[str, str], AccessRequest] = {}
        for request in asked:  # newest first: the first of each dataset is its latest
            latest.setdefault((request.backend, request.dataset), request)
        self.cards = {}
        for dataset, may in [(d, True) for d in usable] + [(d, False) for d in others]:
            key = (dataset.backend, dataset.name)
            self.cards[key] = DatasetCard(self.client, dataset, self.project, may, latest.get(key))
        none_yet = "The project may use no dataset yet: ask for one in the next tab."
        first = [self.cards[(d.backend, d.name)] for d in usable] or [
            w.HTML(coloured(none_yet, MUTED))
        ]
        second = [self.cards[(d.backend, d.name)] for d in others] or [
            w.HTML(coloured("There are no other datasets on the backends you may use.", MUTED))
        ]
        self.tabs.children = [w.VBox(first), w.VBox(second)]
        self.tabs.titles = (
            f"{self.project} may use ({len(usable)})",
            f"Other datasets ({len(others)})",
        )
        self.message.value = (
            f"<b>{html.escape(self.project)}</b> may use {len(usable)} datasets; "
            f"{len(others)} others on its backends."
        )
        self.children = [w.HBox([self.reload, self.message]), self.tabs]

    def card(self, name: str, backend: str | None = None) -> DatasetCard:
        """The card of the dataset `name` (of `backend`, if several have that name)."""
        found = [c for (b, n), c in self.cards.items() if n == name and backend in (None, b)]
        if not found:
            raise KeyError(name)
        return found[0]

    @property
    def usable(self) -> list[DatasetCard]:
        return [c for c in self.cards.values() if c.usable]

    @property
    def others(self) -> list[DatasetCard]:
        return [c for c in self.cards.values() if not c.usable]

    def text(self) -> str:
        lines = [f"Datasets {self.project} may use:"]
        lines += [c.text() for c in self.usable] or ["  none"]
        lines += ["Other datasets on its backends:"]
        lines += [c.text() for c in self.others] or ["  none"]
        return "\n".join(lines)
