"""A study run's sites inside `JobMonitor`: the grid of actions by site, each site's state and
message with its own cancel button, the log of any site's job, and collecting every site's
released outputs into one folder."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

import ipywidgets as w

from ..client import Client, Collected, StudyRun
from ..client.events import event_params
from ._base import error_text, state_html
from .log_view import LogView

if TYPE_CHECKING:
    from .job_monitor import JobMonitor

UNFINISHED = ("pending", "running")
RUN_KINDS = ("job", "job_request")
NO_JOB = '<span title="no job at this site: it had run, or was running, there already">-</span>'


def follow_run(client: Client, run_id: str):
    """Live events of a run's job requests (`GET /events?run=`).

    Asked of the client's stream itself rather than `client.events.follow(run=...)`, because
    it says `connected` each time the stream (re)opens: the monitor reads the run again then,
    so nothing that happened while no stream was open is missed."""
    return client._events(event_params(run=run_id, kinds=RUN_KINDS), connected=True)


def grid_html(run: StudyRun) -> str:
    """Actions (rows) by site (columns); a dash where a site had no job for the action (it had
    run there already)."""
    backends = [site.backend for site in run.sites]
    head = "".join(f'<th scope="col">{html.escape(b)}</th>' for b in backends)
    rows = "".join(
        f'<tr><th scope="row" style="text-align:left">{html.escape(action)}</th>'
        + "".join(f"<td>{state_html(by[b]) if b in by else NO_JOB}</td>" for b in backends)
        + "</tr>"
        for action, by in run.grid.items()
    )
    return (
        f"<b>Study run <code>{run.id}</code></b> at {html.escape(', '.join(backends))}: "
        f'{state_html(run.state)}<table><tr><th scope="col">action</th>{head}</tr>{rows}</table>'
    )


def collected_html(collected: Collected, backends: list[str]) -> str:
    """What a collection wrote and what it could not, site by site."""
    lines = [f"Collected into <code>{html.escape(str(collected.folder))}</code>:"]
    for backend in backends:
        paths = [f.path for f in collected.files if f.site == backend]
        if paths:
            files = ", ".join(f"<code>{html.escape(p)}</code>" for p in paths)
            lines.append(f"<b>{html.escape(backend)}</b>: {len(paths)} file(s) written: {files}")
        else:
            why = collected.missing.get(backend, "nothing released from this run")
            lines.append(
                f"<b>{html.escape(backend)}</b>: <span style='color:var(--jp-warn-color1)'>"
                f"missing</span>: {html.escape(why)}"
            )
    if collected.files:
        lines.append(
            "<small>manifest.json beside them names each file's site, release and job</small>"
        )
    return "<br>".join(lines)


class SitePanel(w.VBox):
    """The controls of a study run's sites; `JobMonitor` holds the run and redraws this."""

    def __init__(self, monitor: JobMonitor) -> None:
        super().__init__()
        self.monitor = monitor
        backends = [site.backend for site in monitor.run.sites]
        self.states = {backend: w.HTML() for backend in backends}
        self.cancel_buttons = {
            backend: w.Button(
                description=f"Cancel {backend}",
                icon="stop",
                tooltip=f"Cancel this run's unfinished jobs at {backend} only",
            )
            for backend in backends
        }
        for backend, button in self.cancel_buttons.items():
            button.on_click(lambda _, backend=backend: self.cancel(backend))
        self.cancel_all = w.Button(
            description="Cancel all",
            button_style="danger",
            icon="stop",
            tooltip="Cancel this run's unfinished jobs at every site",
        )
        self.cancel_all.on_click(lambda _: self.cancel())
        self.message = w.HTML()

        self.site = w.Dropdown(description="Site", options=backends)
        self.job = w.Dropdown(description="Job")
        self.site.observe(lambda _: self._show_jobs(), names="value")
        self.job.observe(lambda change: self.show_log(change["new"]), names="value")
        self.log_view: LogView | None = None
        self.log_box = w.VBox()
        self._show_jobs()

        self.folder = w.Text(value="collected", description="Folder")
        self.collect_button = w.Button(
            description="Collect",
            icon="download",
            tooltip="Every site's released outputs of this run into the folder, checked",
        )
        self.collect_button.on_click(lambda _: self.collect())
        self.collected = w.HTML()
        self.children = [
            *(w.HBox([self.states[b], self.cancel_buttons[b]]) for b in backends),
            w.HBox([self.cancel_all, self.message]),
            w.HTML("<b>Logs</b> (as each site's log policy allows)"),
            w.HBox([self.site, self.job]),
            self.log_box,
            w.HBox([self.folder, self.collect_button]),
            self.collected,
        ]

    def show(self, run: StudyRun) -> None:
        """Each site's state, whether its runner is online and its message."""
        for site in run.sites:
            online = "online" if site.online else "offline"
            message = f": {html.escape(site.message)}" if site.message else ""
            self.states[site.backend].value = (
                f"<b>{html.escape(site.backend)}</b> {state_html(site.state)} "
                f"<small>({online})</small>{message}"
            )
            self.cancel_buttons[site.backend].disabled = site.state not in UNFINISHED
        self.cancel_all.disabled = run.state not in UNFINISHED

    def _show_jobs(self) -> None:
        """The chosen site's jobs to pick a log from (none picked: no log is followed)."""
        part = self.monitor.run.site(self.site.value).job_request
        self.job.options = [(f"{j.action} ({j.identifier})", j.identifier) for j in part.jobs]
        self.job.value = None

    def show_log(self, identifier: str | None) -> LogView | None:
        """Follow that job's log (the one followed before stops)."""
        if self.log_view is not None:
            self.log_view.feed.stop()
        self.log_view = (
            None if identifier is None else LogView(identifier, client=self.monitor.client)
        )
        self.log_box.children = [self.log_view] if self.log_view else []
        return self.log_view

    def cancel(self, backend: str | None = None) -> StudyRun | None:
        """Cancel the run's unfinished jobs at every site, or at `backend` only."""
        monitor = self.monitor
        try:
            monitor.update(lambda: monitor.client.runs.cancel(monitor.run.id, backend=backend))
        except Exception as exc:
            self.message.value = html.escape(error_text(exc))
            return None
        self.message.value = f"Cancelled at {html.escape(backend or 'every site')}."
        return monitor.run

    def collect(self) -> Collected | None:
        """Every site's released outputs of the run into the folder (`run.collect`); shows
        what was written and, per site, what is missing and why."""
        self.collect_button.disabled = True
        try:
            collected = self.monitor.run.collect(self.folder.value.strip() or "collected")
        except Exception as exc:
            self.collected.value = html.escape(error_text(exc))
            return None
        finally:
            self.collect_button.disabled = False
        self.collected.value = collected_html(collected, list(self.states))
        return collected
