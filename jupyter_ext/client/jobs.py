"""`client.job_requests` and `client.jobs`: asking for work, following it, its logs and outputs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from .. import schema
from ._http import Call, clean
from ._resource import Resource, api_path, name_of, parse_one
from .models import Job, JobRequest


class JobRequests(Resource):
    def list(
        self,
        workspace: str | None = None,
        project: str | None = None,
        backend: str | None = None,
        user: str | None = None,
        *,
        page_size: int | None = None,
    ):
        """Newest first."""
        return self._list(
            "job-requests",
            JobRequest,
            page_size,
            workspace=workspace,
            project=project,
            backend=backend,
            user=user,
        )

    def get(self, id: str):
        return self._send(self._get(api_path("job-requests", id), JobRequest))

    def create(
        self,
        workspace: str | None = None,
        *,
        actions: Iterable[str],
        backend: str,
        sha: str | None = None,
        force_run_dependencies: bool = False,
        notify: bool = True,
        github_token: str | None = None,
        parameters: dict[str, dict] | None = None,
        idempotency_key: str | None = None,
    ):
        """Run `actions` (and what they need) on `backend`, at `sha` or the branch head.

        `parameters` overrides a notebook action's values for this request only:
        `{"explore": {"region": "north"}}`; each is checked against the notebook's
        parameters cell (a name it does not declare comes back in `warnings`).

        Sent with an Idempotency-Key (a new one per call unless given), so a retry
        after a lost answer never makes a second request.
        """
        body = {
            "workspace": self._workspace(workspace),
            "backend": backend,
            "actions": list(actions),
            "sha": sha,
            "notify": notify,
            "force_run_dependencies": force_run_dependencies,
            "github_token": github_token,
            "parameters": parameters or {},
        }
        return self._submit("job-requests", JobRequest, body, idempotency_key)

    def cancel(self, job_request: str | JobRequest):
        call = self._get(
            api_path("job-requests", name_of(job_request, "id"), "cancel"),
            JobRequest,
            job_request if isinstance(job_request, JobRequest) else None,
        )
        call.method = "POST"
        return self._send(call)

    def refresh(self, job_request: JobRequest):
        return self._send(
            self._get(api_path("job-requests", job_request.id), JobRequest, job_request)
        )

    def wait(
        self, job_request: str | JobRequest, timeout: float | None = None, progress: bool = True
    ):
        """Follow the request's jobs live until each has finished; returns it, updated."""
        return self._client._wait(job_request, timeout, progress)


class Jobs(Resource):
    def list(
        self,
        workspace: str | None = None,
        job_request: str | None = None,
        backend: str | None = None,
        status: str | None = None,
        user: str | None = None,
        q: str | None = None,
        *,
        page_size: int | None = None,
    ):
        """The event log: jobs newest first; `q` is part of an action name or identifier."""
        return self._list(
            "jobs",
            Job,
            page_size,
            workspace=workspace,
            job_request=job_request,
            backend=backend,
            status=status,
            user=user,
            q=q,
        )

    def get(self, identifier: str):
        return self._send(self._get(api_path("jobs", identifier), Job))

    def refresh(self, job: Job):
        return self._send(self._get(api_path("jobs", job.identifier), Job, job))

    def cancel(self, job: str | Job):
        call = self._get(
            api_path("jobs", name_of(job, "identifier"), "cancel"),
            Job,
            job if isinstance(job, Job) else None,
        )
        call.method = "POST"
        return self._send(call)

    def outputs(self, job: str | Job):
        """What the job produced (the files stay on the backend)."""
        call = Call(
            "GET",
            api_path("jobs", name_of(job, "identifier"), "outputs"),
            parse=lambda r: [schema.Output.model_validate(o) for o in r.json()],
        )
        return self._send(call)

    def provenance(self, job: str | Job):
        """What made the job's outputs (a `schema.Provenance`): its commit, what it ran in, and
        the sha256 of what it read and wrote, as its runner recorded them."""
        path = api_path("jobs", name_of(job, "identifier"), "provenance")
        return self._send(Call("GET", path, parse=parse_one(self._client, schema.Provenance)))

    def usage(
        self,
        group: str = "project",
        since: str | dt.date | None = None,
        until: str | dt.date | None = None,
        format: str = "json",
    ):
        """What jobs used, summed per `group` (project, backend or user) over the jobs that
        ended from `since` to `until` (UTC days, both included; open ends if None), as their
        runners measured them: a list of `schema.UsageRow` (jobs, measured jobs, CPU and wall
        seconds, the largest peak of memory, bytes written); `format="csv"`: the CSV text.
        For administrators. A job's own figures are `job.usage`."""
        params = clean(
            {
                "group": group,
                "from": str(since) if since else None,
                "to": str(until) if until else None,
                "format": format,
            }
        )
        if format == "csv":
            return self._send(Call("GET", "usage", params=params, parse=lambda r: r.text))

        def read(response) -> list[schema.UsageRow]:
            return [schema.UsageRow.model_validate(row) for row in response.json()]

        return self._send(Call("GET", "usage", params=params, parse=read))

    def logs(self, job: str | Job, follow: bool = False):
        """The job's log lines (`LogLine`, `str()` is the text), each once and in order.

        With `follow`, lines go on arriving live from the event stream until the job
        finishes; a dropped stream is resumed and lines it missed are read again.
        """
        return self._client._logs(job, follow)
