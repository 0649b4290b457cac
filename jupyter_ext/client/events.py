"""Live events (Server-Sent Events of `GET /events`) and what is followed with them.

`SSEDecoder` turns the stream's lines into events. `LogFollower` and `Progress`
hold what a follower knows (the last log line given, each job's state), so the
sync and async clients only move bytes and never decide twice.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from ..schema import JobState
from ._http import Call, clean
from .models import JobRequest, LogLine, StudyRun

FINISHED = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
LOG_PAGE = 5_000


@dataclass(frozen=True)
class LiveEvent:
    """One event: `kind` is job, job_request or log; `data` the thing's new shape."""

    id: int | None
    kind: str
    data: Any


# Said by a client's stream (never by the server) each time it has (re)connected: what
# happened before may be missed, so a follower reads the current state then.
CONNECTED = LiveEvent(None, "connected", None)


class SSEDecoder:
    """Server-Sent Events, line by line (WHATWG HTML, "Interpreting an event stream")."""

    def __init__(self) -> None:
        self.last_id: str | None = None  # kept across events, as the standard says
        self._kind: str | None = None
        self._data: list[str] = []

    def feed(self, line: str) -> LiveEvent | None:
        """The event this line completes, if any (comments such as pings complete none)."""
        if not line:
            if not self._data and self._kind is None:
                return None
            text, kind = "\n".join(self._data), self._kind or "message"
            self._kind, self._data = None, []
            try:
                data = json.loads(text)
            except ValueError:
                data = text
            number = int(self.last_id) if self.last_id and self.last_id.isdigit() else None
            return LiveEvent(number, kind, data)
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._kind = value
        elif name == "id" and "\x00" not in value:
            self.last_id = value
        return None


def parts_of(followed: JobRequest | StudyRun) -> list[JobRequest]:
    """A run's job requests, one per site; a job request is its own one part."""
    return followed.job_requests if isinstance(followed, StudyRun) else [followed]


def event_params(
    workspace: str | None = None,
    backend: str | None = None,
    job_request: str | None = None,
    kinds: Iterable[str] | None = None,
    run: str | None = None,
) -> dict[str, Any]:
    """The query of `GET /events`: the server sends only what matches, and what one may see."""
    return clean(
        {
            "workspace": workspace,
            "backend": backend,
            "job_request": job_request,
            "run": run,
            "kind": list(kinds) if kinds else None,
        }
    )


def wait_params(followed: JobRequest | StudyRun) -> dict[str, Any]:
    """The events a wait follows: the jobs of the request, or of every site of the run."""
    if isinstance(followed, StudyRun):
        return event_params(run=followed.id, kinds=("job",))
    return event_params(job_request=followed.id, kinds=("job",))


class LogFollower:
    """The log lines of one job, each once and in order, from `/logs` and from live events."""

    def __init__(self, job: str) -> None:
        self.job = job
        self.last = -1  # sequence number of the last line given
        self.finished = False

    def logs_call(self) -> Call:
        params = {"after": self.last, "limit": LOG_PAGE}
        return Call("GET", f"jobs/{quote(self.job, safe='')}/logs", params=params, parse=_log_lines)

    def take(self, lines: list[LogLine]) -> list[LogLine]:
        """Lines from `/logs` not given yet (it answers in order, with no gaps)."""
        fresh = [line for line in lines if line.seq > self.last]
        if fresh:
            self.last = fresh[-1].seq
        return fresh

    def on_event(self, event: LiveEvent) -> tuple[list[LogLine], bool]:
        """The event's new lines, and whether lines were missed (then read `/logs`)."""
        data = event.data if isinstance(event.data, dict) else {}
        if event.kind == "job" and data.get("identifier") == self.job:
            self.finished = data.get("state") in FINISHED
        if event.kind != "log" or data.get("job") != self.job:
            return [], False
        fresh = []
        for seq, text in data.get("lines", []):
            if seq <= self.last:
                continue  # given already, from `/logs`
            if seq != self.last + 1:
                return fresh, True
            fresh.append(LogLine(seq=seq, text=text))
            self.last = seq
        return fresh, False

    def on_job(self, state: JobState) -> None:
        self.finished = state in FINISHED


def _log_lines(response) -> list[LogLine]:
    return [LogLine.model_validate(line) for line in response.json()]


class Progress:
    """The jobs of a job request, or of every site of a study run, as one progress bar: a
    widget in a notebook, text in a terminal."""

    def __init__(self, followed: JobRequest | StudyRun, enabled: bool = True) -> None:
        from tqdm.auto import tqdm

        parts = parts_of(followed)
        self.requests = {part.id for part in parts}
        sites = (
            f" at {', '.join(p.backend for p in parts)}" if isinstance(followed, StudyRun) else ""
        )
        label = f"{followed.workspace}{sites}: {' '.join(followed.actions)}"
        total = sum(len(part.jobs) for part in parts)
        self.bar = tqdm(desc=label[:50], total=total, unit="job", disable=not enabled)
        self.sync(followed)

    def sync(self, followed: JobRequest | StudyRun) -> None:
        self.states = {
            job.identifier: job.state for part in parts_of(followed) for job in part.jobs
        }
        self._show()

    def on_event(self, event: LiveEvent) -> None:
        data = event.data if isinstance(event.data, dict) else {}
        if event.kind == "job" and data.get("job_request") in self.requests:
            self.states[data["identifier"]] = JobState(data["state"])
            self._show()

    @property
    def done(self) -> bool:
        return all(state in FINISHED for state in self.states.values())

    def _show(self) -> None:
        counts = Counter(self.states.values())
        self.bar.total = len(self.states)
        self.bar.n = sum(counts[state] for state in FINISHED)
        self.bar.set_postfix_str(", ".join(f"{n} {s}" for s, n in sorted(counts.items())))

    def close(self) -> None:
        self.bar.close()


def events_call(params: dict[str, Any], last_event_id: int | None) -> Call:
    headers = {"Accept": "text/event-stream"}
    if last_event_id is not None:
        headers["Last-Event-ID"] = str(last_event_id)  # resume: what was missed comes first
    return Call("GET", "events", params=params, headers=headers)
