"""`JobMonitor`: a job request's jobs, or a study run's at every site, their states and timings,
and one progress bar, live."""

from __future__ import annotations

import datetime as dt
import html
import threading

import ipywidgets as w

from ..client import Client, JobRequest, NotFound, StudyRun
from ._base import Feed, TextForm, default_client, error_text, state_html
from .run_sites import UNFINISHED, SitePanel, follow_run, grid_html

FINISHED = {"succeeded", "failed", "cancelled"}


def _duration(job) -> str:
    if job.started_at is None:
        return ""
    end = job.completed_at or dt.datetime.now(dt.UTC)
    return f"{(end - job.started_at).total_seconds():.1f} s"


class JobMonitor(TextForm):
    """A job request's jobs in a table; a study run's as a grid of actions by site, with each
    site's message, its logs, cancel buttons and Collect (`self.sites`)."""

    def __init__(
        self,
        followed: JobRequest | StudyRun | str,
        client: Client | None = None,
        live: bool = True,
    ) -> None:
        super().__init__()
        self.client = default_client(client)
        if isinstance(followed, str):
            followed = self._fetch(followed)
        self.run = followed if isinstance(followed, StudyRun) else None
        self.request = None if self.run is not None else followed
        self.progress = w.IntProgress(min=0, max=1, description="Jobs")
        self.table = w.HTML()
        self.note = w.HTML()
        self.lock = threading.Lock()  # one read-and-redraw at a time: the newest read shows
        self.sites = SitePanel(self) if self.run is not None else None
        self.children = [
            self.progress,
            self.table,
            *([self.sites] if self.sites is not None else []),
            self.note,
        ]
        self.show()
        self.feed = Feed(self._events, self._on_event, self._on_error) if live else None

    def _fetch(self, id: str) -> JobRequest | StudyRun:
        """A job request of that id, or else a study run (both are ULIDs)."""
        try:
            return self.client.job_requests.get(id)
        except NotFound as not_a_request:
            try:
                return self.client.runs.get(id)
            except NotFound:
                raise not_a_request from None

    def _events(self):
        if self.finished:
            return []
        if self.run is not None:
            return follow_run(self.client, self.run.id)
        return self.client.events.follow(job_request=self.request.id, kinds=["job", "job_request"])

    def _on_event(self, event) -> bool:
        """Each event: read the request (or run) again (one GET), redraw; stop once finished."""
        if self.run is not None:
            self.update(lambda: self.client.runs.get(self.run.id))
        else:
            self.update(lambda: self.client.job_requests.get(self.request.id))
        return not self.finished

    def update(self, read) -> None:
        """Take what `read()` answers (a GET, or a cancel's answer) and redraw. Reads are one at
        a time, so an older answer never lands after a newer one (a click races the feed)."""
        with self.lock:
            fresh = read()
            if self.run is not None:
                self.run = fresh
            else:
                self.request = fresh
            self.show()

    def _on_error(self, exc: Exception) -> None:
        self.note.value = f"Live updates stopped: {html.escape(error_text(exc))}"

    @property
    def jobs(self) -> list:
        """The request's jobs, or every site's."""
        if self.run is not None:
            return [job for site in self.run.sites for job in site.job_request.jobs]
        return self.request.jobs

    @property
    def finished(self) -> bool:
        if self.run is not None:  # a site with nothing to do has no jobs, and has finished
            return self.run.state not in UNFINISHED
        return bool(self.request.jobs) and all(j.state in FINISHED for j in self.request.jobs)

    def show(self) -> None:
        jobs = self.jobs
        self.progress.max = max(1, len(jobs))
        self.progress.value = sum(j.state in FINISHED for j in jobs)
        failed = any(j.state == "failed" for j in jobs)
        self.progress.bar_style = "danger" if failed else "success" if self.finished else "info"
        if self.run is not None:
            self.table.value = grid_html(self.run)
            self.sites.show(self.run)
            return
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

    def wait(self, timeout: float | None = None) -> JobRequest | StudyRun:
        """Block until the request (or run) finished (for scripts and tests); returns it."""
        if self.feed is not None:
            self.feed.thread.join(timeout)
        return self.run or self.request

    def text(self) -> str:
        return repr(self.run or self.request)
