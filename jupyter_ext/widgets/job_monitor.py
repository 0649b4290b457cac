"""`JobMonitor`: a job request's jobs, their states and timings, and a progress bar, live."""

from __future__ import annotations

import datetime as dt
import html

import ipywidgets as w

from ..client import Client, JobRequest
from ._base import Feed, TextForm, default_client, error_text, state_html

FINISHED = {"succeeded", "failed", "cancelled"}


def _duration(job) -> str:
    if job.started_at is None:
        return ""
    end = job.completed_at or dt.datetime.now(dt.UTC)
    return f"{(end - job.started_at).total_seconds():.1f} s"


class JobMonitor(TextForm):
    def __init__(
        self, job_request: JobRequest | str, client: Client | None = None, live: bool = True
    ) -> None:
        super().__init__()
        self.client = default_client(client)
        if isinstance(job_request, str):
            job_request = self.client.job_requests.get(job_request)
        self.request = job_request
        self.progress = w.IntProgress(min=0, max=max(1, len(job_request.jobs)), description="Jobs")
        self.table = w.HTML()
        self.note = w.HTML()
        self.children = [self.progress, self.table, self.note]
        self.show()
        self.feed = Feed(self._events, self._on_event, self._on_error) if live else None

    def _events(self):
        if self.finished:
            return []
        return self.client.events.follow(job_request=self.request.id, kinds=["job", "job_request"])

    def _on_event(self, event) -> bool:
        """Each event: read the request again (one GET), redraw; stop once it has finished."""
        self.request = self.client.job_requests.get(self.request.id)
        self.show()
        return not self.finished

    def _on_error(self, exc: Exception) -> None:
        self.note.value = f"Live updates stopped: {html.escape(error_text(exc))}"

    @property
    def finished(self) -> bool:
        return bool(self.request.jobs) and all(j.state in FINISHED for j in self.request.jobs)

    def show(self) -> None:
        jobs = self.request.jobs
        self.progress.max = max(1, len(jobs))
        self.progress.value = sum(j.state in FINISHED for j in jobs)
        failed = any(j.state == "failed" for j in jobs)
        self.progress.bar_style = "danger" if failed else "success" if self.finished else "info"
        rows = "".join(
            f"<tr><td>{html.escape(j.action)}</td><td><code>{j.identifier}</code></td>"
            f"<td>{state_html(j.state)}</td><td>{_duration(j)}</td>"
            f"<td>{html.escape(j.status_message)}</td></tr>"
            for j in jobs
        )
        self.table.value = (
            f"<b>Job request <code>{self.request.id}</code></b> on {self.request.backend}: "
            f"{state_html(self.request.state)}<table><tr><th>action</th><th>job</th>"
            f"<th>state</th><th>time</th><th>message</th></tr>{rows}</table>"
        )

    def wait(self, timeout: float | None = None) -> JobRequest:
        """Block until the request finished (for scripts and tests); returns it."""
        if self.feed is not None:
            self.feed.thread.join(timeout)
        return self.request

    def text(self) -> str:
        return repr(self.request)
