"""`LogView`: a job's log, following live, keeping at most `max_lines` in the browser."""

from __future__ import annotations

import html
from collections import deque

import ipywidgets as w

from ..client import Client, Job
from ._base import Feed, TextForm, default_client, error_text

STYLE = (
    "max-height:24em;overflow:auto;margin:0;padding:4px;"
    "font-family:var(--jp-code-font-family, monospace);font-size:var(--jp-code-font-size)"
)


class LogView(TextForm):
    def __init__(
        self,
        job: Job | str,
        client: Client | None = None,
        follow: bool = True,
        max_lines: int = 1000,
    ) -> None:
        super().__init__()
        self.client = default_client(client)
        self.job = self.client.jobs.get(job) if isinstance(job, str) else job
        self.lines: deque[str] = deque(maxlen=max_lines)
        self.seen = 0
        self.head = w.HTML(
            f"<b>Log of {html.escape(self.job.action)}</b> (<code>{self.job.identifier}</code>)"
        )
        self.body = w.HTML()
        self.note = w.HTML()
        self.children = [self.head, self.body, self.note]
        self.feed = Feed(
            lambda: self.client.jobs.logs(self.job, follow=follow), self._on_line, self._on_error
        )

    def _on_line(self, line) -> None:
        self.seen += 1
        self.lines.append(str(line))
        dropped = self.seen - len(self.lines)
        note = f"<i>… {dropped} earlier lines not shown</i>\n" if dropped else ""
        self.body.value = (
            f'<pre style="{STYLE}">{note}{html.escape(chr(10).join(self.lines))}</pre>'
        )

    def _on_error(self, exc: Exception) -> None:
        self.note.value = f"Following stopped: {html.escape(error_text(exc))}"

    def wait(self, timeout: float | None = None) -> list[str]:
        """Block until the log is complete (the job finished); returns the lines kept."""
        self.feed.thread.join(timeout)
        return list(self.lines)

    def text(self) -> str:
        return "\n".join([f"Log of {self.job.action} ({self.job.identifier}):", *self.lines])
