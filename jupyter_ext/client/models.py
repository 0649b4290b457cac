"""The schema's models as the client returns them, with a few conveniences.

Each is its `jupyter_ext.schema` model (same fields, same validation) that also
remembers the client that fetched it: a `JobRequest` can `.wait()`, `.refresh()`
and `.cancel()`, a `Job` can show its `.logs()`, a `Release` can `.download()`.
From an `AsyncClient` those methods are awaited (or iterated with `async for`),
like the client's own. Each reads as plain text in a notebook or a terminal.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, PrivateAttr

from .. import schema
from .errors import ClientError


class Bound(BaseModel):
    """A model that knows the client it came from (never part of its data)."""

    _client: Any = PrivateAttr(None)

    def _bind(self, client: Any) -> Bound:
        self._client = client
        return self

    def _update(self, fresh: Bound) -> Bound:
        """Take the fields of a newer copy of the same thing; returns self."""
        for name in type(self).model_fields:
            setattr(self, name, getattr(fresh, name))
        self._client = fresh._client or self._client
        return self

    @property
    def client(self) -> Any:
        if self._client is None:
            raise ClientError(
                f"this {type(self).__name__} was not fetched by a client: fetch it with one"
            )
        return self._client

    def __str__(self) -> str:
        return repr(self)


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC") if moment else "never"


def _table(rows: list[tuple[str, ...]], indent: str = "  ") -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))] if rows else []
    return [
        indent + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]


class LogLine(schema.LogLine):
    """One line of a job's log; `str(line)` is its text."""

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return f"LogLine({self.seq}, {self.text!r})"


class Job(schema.Job, Bound):
    def logs(self, follow: bool = False):
        """The job's log lines; with `follow`, live until the job finishes."""
        return self.client.jobs.logs(self, follow=follow)

    def outputs(self):
        return self.client.jobs.outputs(self)

    def refresh(self):
        return self.client.jobs.refresh(self)

    def cancel(self):
        return self.client.jobs.cancel(self)

    @property
    def finished(self) -> bool:
        return self.state in (
            schema.JobState.SUCCEEDED,
            schema.JobState.FAILED,
            schema.JobState.CANCELLED,
        )

    def __repr__(self) -> str:
        text = f"Job {self.identifier} {self.action} ({self.workspace} on {self.backend}): "
        text += self.state
        text += f" - {self.status_message}" if self.status_message else ""
        return text + (f" ({self.usage.words()})" if self.usage else "")


class JobRequest(schema.JobRequest, Bound):
    jobs: list[Job] = Field(default_factory=list)

    def _bind(self, client: Any) -> JobRequest:
        for job in self.jobs:
            job._bind(client)
        return super()._bind(client)

    def wait(self, timeout: float | None = None, progress: bool = True):
        """Follow its jobs until each has finished (a progress bar unless `progress=False`).

        Returns the request, updated; raises `WaitTimeout` after `timeout` seconds.
        """
        return self.client.job_requests.wait(self, timeout=timeout, progress=progress)

    def refresh(self):
        """Read it again from the job server (in place); returns it."""
        return self.client.job_requests.refresh(self)

    def cancel(self):
        return self.client.job_requests.cancel(self)

    def __repr__(self) -> str:
        done = sum(job.finished for job in self.jobs)
        head = (
            f"JobRequest {self.id} in {self.workspace} on {self.backend} by "
            f"{self.created_by}: {self.state} ({done} of {len(self.jobs)} jobs finished)"
        )
        rows = [(j.action, j.identifier, j.state, j.status_message) for j in self.jobs]
        return "\n".join([head, *_table(rows)])


class RunSite(schema.RunSite, Bound):
    job_request: JobRequest

    def _bind(self, client: Any) -> RunSite:
        self.job_request._bind(client)
        return super()._bind(client)


class StudyRun(schema.StudyRun, Bound):
    """One submission at several sites: a job request per backend, all at one commit."""

    sites: list[RunSite] = Field(default_factory=list)

    def _bind(self, client: Any) -> StudyRun:
        for site in self.sites:
            site._bind(client)
        return super()._bind(client)

    @property
    def job_requests(self) -> list[JobRequest]:
        return [site.job_request for site in self.sites]

    def site(self, backend: str) -> RunSite:
        for site in self.sites:
            if site.backend == backend:
                return site
        raise KeyError(f"the run {self.id} does not run at {backend}")

    @property
    def grid(self) -> dict[str, dict[str, str]]:
        """{action: {backend: state}}: each action's job at each site (absent: not run there)."""
        rows: dict[str, dict[str, str]] = {}
        for site in self.sites:
            for job in site.job_request.jobs:
                rows.setdefault(job.action, {})[site.backend] = job.state.value
        return rows

    def wait(self, timeout: float | None = None, progress: bool = True):
        """Follow every site's jobs until each has finished (one progress bar over all sites).

        Returns the run, updated; raises `WaitTimeout` after `timeout` seconds."""
        return self.client.runs.wait(self, timeout=timeout, progress=progress)

    def refresh(self):
        return self.client.runs.refresh(self)

    def cancel(self, backend: str | None = None):
        """Cancel every site's unfinished jobs, or one site's (`backend`)."""
        return self.client.runs.cancel(self, backend=backend)

    def collect(self, folder: str | Path = "collected"):
        """Every site's released outputs of this run under `folder/<backend>/`, sha256-checked,
        with `folder/manifest.json` naming each file's site, release, job and provenance."""
        return self.client.runs.collect(self, folder)

    def __repr__(self) -> str:
        head = (
            f"StudyRun {self.id} in {self.workspace} at {', '.join(s.backend for s in self.sites)}"
            f" by {self.created_by}: {self.state} ({self.summary})"
        )
        backends = [s.backend for s in self.sites]
        rows = [("action", *backends)]
        rows += [(a, *(by.get(b, "-") for b in backends)) for a, by in self.grid.items()]
        notes = [f"  {s.backend}: {s.message}" for s in self.sites if s.message]
        return "\n".join([head, *_table(rows), *notes])


class Backend(schema.Backend, Bound):
    def __repr__(self) -> str:
        state = "online" if self.online else "offline"
        text = f"Backend {self.slug} ({self.name}): {state}, last seen {_when(self.last_seen_at)}"
        if self.online and self.executor:
            text += f", {self.executor} executor, room for {self.capacity} jobs"
        return text


class Actions(schema.Actions, Bound):
    """The actions of a workspace's project.yaml; iterate it, or index it by name."""

    def __iter__(self):  # type: ignore[override]  # the actions, not pydantic's fields
        return iter(self.actions)

    def __len__(self) -> int:
        return len(self.actions)

    def __getitem__(self, name: str) -> schema.ActionStatus:
        for action in self.actions:
            if action.name == name:
                return action
        raise KeyError(name)

    def __repr__(self) -> str:
        head = f"Actions of {self.workspace} at {self.sha[:12]}"
        if self.problems:
            return "\n".join(
                [
                    f"{head}: project.yaml is not valid",
                    *(f"  {p.get('message', p)}" for p in self.problems),
                ]
            )
        rows = [
            (
                a.name,
                "needs " + (", ".join(a.needs) or "nothing"),
                ", ".join(f"{b}: {s}" for b, s in a.last_state.items()) or "never run",
            )
            for a in self.actions
        ]
        return "\n".join([head, *_table(rows)])


class Release(schema.Release, Bound):
    def download(self, path: str | Path = "."):
        """Its released files under the folder `path`, each checked against its sha256."""
        return self.client.releases.download(self, path)

    def refresh(self):
        return self.client.releases.refresh(self)

    def __repr__(self) -> str:
        head = f"Release {self.id} of {self.workspace} on {self.backend}: {self.state}"
        rows = [(f.path, f.state, "uploaded" if f.uploaded else "") for f in self.files]
        return "\n".join([head, *_table(rows)])


def _size(size: float) -> str:
    if size < 1000:
        return f"{int(size)} bytes"
    for unit in ("KB", "MB", "GB", "TB"):
        size /= 1000
        if size < 1000 or unit == "TB":
            break
    return f"{size:.1f} {unit}"


def manifest_lines(manifest: schema.Manifest, indent: str = "  ") -> list[str]:
    """A manifest as text: each file with its size and rows, then its columns and types."""
    lines = []
    for f in manifest.files:
        rows = f", {f.rows} rows" if f.rows is not None else ""
        lines.append(f"{indent}{f.path} ({_size(f.size)}{rows})")
        if f.columns:
            lines += _table([(c.name, c.type) for c in f.columns], indent + "    ")
    return lines


class Dataset(schema.Dataset, Bound):
    """A dataset of a backend: its description, owner and versions with their manifests (the
    newest first); only these leave its site, and its dummy data."""

    @property
    def latest(self) -> schema.DatasetVersion:
        return self.versions[0]

    @property
    def manifest(self) -> schema.Manifest:
        """The newest version's manifest."""
        return self.latest.manifest

    @property
    def has_dummy(self) -> bool:
        return any(v.dummy is not None and v.dummy.files for v in self.versions)

    def dummy(self, path: str | None = None, version: int | None = None, as_frame: bool = False):
        """Its dummy data: see `client.datasets.dummy`."""
        return self.client.datasets.dummy(self, path=path, version=version, as_frame=as_frame)

    def request(self, purpose: str, project: str | None = None, versions: list[int] | None = None):
        """Ask for the project (the workspace's, by default) to use it."""
        return self.client.datasets.request(self, purpose, project=project, versions=versions)

    def __repr__(self) -> str:
        retired = " (retired)" if self.status == "retired" else ""
        lines = [
            f"Dataset {self.name} on {self.backend}{retired}, held by {self.owner}",
            *(f"  {line}" for line in self.description.splitlines()),
        ]
        if self.versions:
            v = self.latest
            older = f" (older: {', '.join(str(o.version) for o in self.versions[1:])})"
            lines.append(
                f"version {v.version} of {_when(v.created_at)}"
                f"{older if len(self.versions) > 1 else ''}:"
            )
            lines += manifest_lines(v.manifest)
            if self.has_dummy:
                lines.append("dummy data: .dummy() loads it")
        return "\n".join(lines)


class AccessRequest(schema.AccessRequest, Bound):
    """A project's request to use a dataset, and what a Governance Reviewer decided."""

    def withdraw(self):
        return self.client.datasets.withdraw(self)

    def refresh(self):
        """Read it again (in place); returns it."""
        return self.client.datasets.refresh(self)

    def __repr__(self) -> str:
        text = (
            f"AccessRequest {self.id}: {self.project} to use {self.dataset} on {self.backend}"
            f", {self.state}"
        )
        if self.state in ("approved", "expired") and self.until:
            text += f" until {self.until.isoformat()}"
        if self.decided_by:
            text += f" by {self.decided_by}"
        if self.reason:
            text += f" ({self.reason})"
        return text + f"\n  asked by {self.requested_by}: {self.purpose}"
