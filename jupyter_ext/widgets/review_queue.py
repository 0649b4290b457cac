"""`ReviewQueue`: an output checker's view of the files waiting for their vote.

Each file with what a checker needs to judge it (its size, its table's shape and the
summary made on its site, what the pre-release rules flagged, the tables the project
released that it overlaps, the context and disclosure control the author gave, the
comments), an Open button that shows the file itself (the copy its site sent for review,
read as an output checker: the job server records each read), and approve / request
changes / reject with a comment. Votes stay hidden until all have voted (the job server's
rule), so after voting a file shows the others' votes only once they are in; Refresh looks
again.
"""

from __future__ import annotations

import csv
import html
import io
from itertools import islice
from pathlib import PurePosixPath

import ipywidgets as w

from .. import schema
from ..client import Client, Release
from ..client.reviewing import waiting_files
from ..notebook_html import notebook_cells
from ._base import TextForm, default_client, error_text
from .findings import (
    ERROR,
    GOOD,
    MUTED,
    WARN,
    coloured,
    findings_html,
    findings_text,
    overlaps_html,
    overlaps_text,
    shape_text,
    size_text,
    summary_html,
    summary_text,
)
from .notebook_cells import NotebookCells

OPEN = frozenset({schema.FileState.REQUESTED, schema.FileState.IN_REVIEW})
DECISIONS = {  # decision: (button label, button style, icon, colour)
    "approve": ("Approve", "success", "check", GOOD),
    "request_changes": ("Request changes", "warning", "edit", WARN),
    "reject": ("Reject", "danger", "times", ERROR),
}


class FileReview(w.VBox):
    """One file of a release waiting for the caller's vote, and the buttons to cast it."""

    def __init__(self, client: Client, me: str, release: Release, file: schema.ReleaseFile):
        super().__init__(layout=w.Layout(margin="0 0 1em 2em"))
        self.client, self.me, self.release, self.file = client, me, release, file
        self.comment = w.Textarea(
            placeholder="A comment for the author and the other checkers (optional)",
            layout=w.Layout(width="95%"),
        )
        self.buttons = {}
        for decision, (label, style, icon, _) in DECISIONS.items():
            button = w.Button(description=label, button_style=style, icon=icon)
            button.on_click(lambda _, d=decision: self.vote(d))
            self.buttons[decision] = button
        self.approve, self.request_changes, self.reject = self.buttons.values()
        self.details = w.HTML(self._details())
        self.outcome = w.HTML()
        self.open = w.Button(description="Open", icon="eye", tooltip=f"Read {file.path}")
        self.open.on_click(lambda _: self.show_file())
        self.viewer = w.VBox()
        votes = w.HBox(list(self.buttons.values()))
        self.children = [self.details, self.open, self.viewer, self.comment, votes, self.outcome]

    def show_file(self) -> None:
        """Read the file's review copy (the job server records the read) and show it here:
        a table, an image or text, escaped; anything else is for the release page."""
        try:
            data = self.client.releases.review_copy(self.release, self.file)
        except Exception as exc:
            self.viewer.children = [w.HTML(coloured(error_text(exc), ERROR))]
            return
        self.viewer.children = [shown(self.file.path, data)]

    def _details(self) -> str:
        f = self.file
        version = f" (version {f.version})" if f.version > 1 else ""
        lines = [
            f"<b>{html.escape(f.path)}</b>{version}: {size_text(f.size)}, job "
            f"<code>{html.escape(f.job)}</code>, sha256 <code>{f.sha256[:12]}…</code>",
        ]
        if shape := shape_text(f.rows, f.columns):
            lines.append(html.escape(shape))
        lines.append("Rules: " + findings_html(f.findings, clean="nothing found"))
        if f.summary is not None:
            lines.append(summary_html(f.summary, f.path))
        if f.overlaps:
            lines.append(overlaps_html(f.overlaps, f.path))
        for version, comment in self._comments():
            said = f"{html.escape(comment.author)} (on version {version})"
            lines.append(f"<i>{said}</i>: {html.escape(comment.text)}")
        return "<br>".join(lines)

    def _comments(self) -> list[tuple[int, schema.Comment]]:
        """This version's comments and those of the versions it replaced (the conversation)."""
        same = [
            g for g in self.release.files if (g.group, g.path) == (self.file.group, self.file.path)
        ]
        same = [g for g in same if g.version <= self.file.version]
        return sorted(
            ((g.version, c) for g in same for c in g.comments), key=lambda vc: vc[1].created_at
        )

    def vote(self, decision: str) -> Release | None:
        """Cast the caller's vote with the comment typed (what the buttons do)."""
        for button in self.buttons.values():
            button.disabled = True
        try:
            release = self.client.releases.review(
                self.release, self.file, decision, self.comment.value.strip()
            )
        except Exception as exc:
            self.outcome.value = coloured(error_text(exc), ERROR)
            for button in self.buttons.values():
                button.disabled = False
            return None
        self.show(release)
        return release

    @property
    def voted(self) -> bool:
        return any(r.reviewer == self.me for r in self.file.reviews)

    def show(self, release: Release) -> None:
        """The file as `release` now has it: the caller's vote, and the others' once all
        have voted."""
        self.release = release
        self.file = next(f for f in release.files if f.id == self.file.id)
        if not self.voted:
            return
        mine = next(r for r in self.file.reviews if r.reviewer == self.me)
        others = [r for r in self.file.reviews if r.reviewer != self.me]
        state = self.file.state.replace("_", " ")
        lines = [f"Your vote: {_decision(mine)}"]
        if self.file.state not in OPEN:
            lines.insert(0, f"<b>All have voted: the file is {html.escape(state)}.</b>")
            lines += [f"{html.escape(r.reviewer)}: {_decision(r)}" for r in others]
        elif others:  # all the votes asked for are in, and tied
            lines.insert(0, "<b>The votes are tied: a third checker decides.</b>")
            lines += [f"{html.escape(r.reviewer)}: {_decision(r)}" for r in others]
        else:
            lines.append(
                coloured("The other votes show here once all have voted: Refresh to look.", MUTED)
            )
        self.outcome.value = "<br>".join(lines)

    def text(self) -> str:
        f = self.file
        head = f"  {f.path} (v{f.version}, {f.size} bytes): {findings_text(f.findings, 'clean')}"
        if f.summary is not None:
            head += f"\n    summary: {summary_text(f.summary)}"
        head += "".join(f"\n    overlaps: {line}" for line in overlaps_text(f.overlaps))
        if not self.voted:
            return head
        votes = ", ".join(f"{r.reviewer}: {r.decision}" for r in f.reviews)
        return f"{head}\n    {f.state}; votes shown: {votes}"


ROWS_SHOWN, TEXT_SHOWN = 50, 20_000
IMAGES = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".svg": "svg+xml"}


def shown(path: str, data: bytes) -> w.Widget:
    """A file's bytes as a widget that runs nothing of them: a CSV as an escaped table (its
    first rows), an image in an <img> (an SVG there runs no script), an executed notebook
    cell by cell in sandboxed frames, other text escaped."""
    suffix = PurePosixPath(path).suffix.lower()
    if suffix in IMAGES:
        return w.Image(value=data, format=IMAGES[suffix], layout=w.Layout(max_width="95%"))
    text = data.decode("utf-8", errors="replace")
    if suffix in (".csv", ".tsv"):
        delimiter = "\t" if suffix == ".tsv" else ","
        rows = list(islice(csv.reader(io.StringIO(text), delimiter=delimiter), ROWS_SHOWN + 1))
        cells = "".join(
            "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in rows
        )
        more = f"<br><i>The first {ROWS_SHOWN} rows.</i>" if len(rows) > ROWS_SHOWN else ""
        return w.HTML(f'<table class="jx-review-table">{cells}</table>{more}')
    if suffix == ".html" and notebook_cells(text):  # an executed notebook: cell by cell
        return NotebookCells(text)
    if suffix in (".txt", ".md", ".log", ".json", ".html", ".yaml", ".yml"):
        return w.HTML(f"<pre>{html.escape(text[:TEXT_SHOWN])}</pre>")
    return w.HTML(f"{html.escape(path)} is not shown here: open it from the release page.")


def _decision(review: schema.Review) -> str:
    label, _, _, colour = DECISIONS[review.decision]
    said = f" ({html.escape(review.comment)})" if review.comment else ""
    return coloured(label.lower(), colour, bold=True) + said


class ReviewQueue(TextForm):
    """The releases with files waiting for the caller's vote (`client.releases.to_review()`),
    and the files they voted on here, with the votes once revealed."""

    def __init__(self, client: Client | None = None, workspace: str | None = None) -> None:
        super().__init__()
        self.client = default_client(client)
        self.workspace = workspace
        self.reviews: dict[str, FileReview] = {}  # by file id, those shown since made
        self.reload = w.Button(description="Refresh", icon="refresh")
        self.reload.on_click(lambda _: self.refresh())
        self.message = w.HTML()
        self.refresh()

    def refresh(self) -> None:
        """Read the queue again; the files voted on here show how their votes now stand."""
        try:
            self.me = self.client.me().username
            queue = self.client.releases.to_review(self.workspace)
            voted = {fid: r for fid, r in self.reviews.items() if r.voted}
            fresh = {
                rid: self.client.releases.get(rid) for rid in {r.release.id for r in voted.values()}
            }
        except Exception as exc:
            self.message.value = coloured(f"Cannot read the queue: {error_text(exc)}", ERROR)
            self.children = [self.reload, self.message]
            return
        for review in voted.values():
            review.show(fresh[review.release.id])
        waiting = {}
        sections = []
        for release in queue:
            rows = []
            for file in waiting_files(release, self.me):
                old = self.reviews.get(file.id)  # kept: a comment typed stays
                waiting[file.id] = old or FileReview(self.client, self.me, release, file)
                rows.append(waiting[file.id])
            sections.append(w.VBox([w.HTML(self._head(release, rows)), *rows]))
        self.reviews = {**waiting, **voted}
        self.message.value = (
            f"<b>{len(waiting)} files wait for your vote</b>, in {len(sections)} releases."
            if waiting
            else "<b>Nothing waits for your vote.</b>"
        )
        done = [w.HTML("<b>Voted on here</b>"), *voted.values()] if voted else []
        self.children = [w.HBox([self.reload, self.message]), *sections, *done]

    @staticmethod
    def _head(release: Release, rows: list[FileReview]) -> str:
        lines = [
            f"<b>Release <code>{release.id}</code></b> of {html.escape(release.workspace)} on "
            f"{html.escape(release.backend)}, asked by {html.escape(release.created_by)} on "
            f"{release.created_at:%Y-%m-%d %H:%M} UTC"
        ]
        for name in sorted({r.file.group for r in rows}):
            group = release.groups.get(name, {})
            lines.append(
                f"<i>{html.escape(name)}</i>: {html.escape(group.get('context', ''))}<br>"
                f"Disclosure control: {html.escape(group.get('disclosure_control', ''))}"
            )
        return "<br>".join(lines)

    def file(self, path: str, release: str | None = None) -> FileReview:
        """The review of the file at `path` (in `release`, if several ask for that path)."""
        found = [
            r
            for r in self.reviews.values()
            if r.file.path == path and release in (None, r.release.id)
        ]
        if not found:
            raise KeyError(path)
        return min(found, key=lambda r: r.voted)  # one still waiting first

    def text(self) -> str:
        lines = [f"Files waiting for {self.me}'s vote:"]
        lines += [r.text() for r in self.reviews.values() if not r.voted] or ["  none"]
        voted = [r.text() for r in self.reviews.values() if r.voted]
        return "\n".join(lines + (["Voted on here:", *voted] if voted else []))
