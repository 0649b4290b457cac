"""The API's resources: each method builds a `Call`, the client sends it.

The same classes serve both clients: on a `Client` a method returns its result,
on an `AsyncClient` an awaitable; `list()` returns an iterator across every page
(`async for` on an `AsyncClient`), so nobody handles a cursor. Bodies go to the
job server as given: it validates them, and its 422 says what to change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import schema
from ._http import Call, clean
from ._resource import Resource, api_path, parse_one
from .dataset_resource import Datasets
from .events import event_params
from .jobs import JobRequests, Jobs
from .models import Actions, Backend
from .releases import Releases
from .runs import Runs
from .schedules import Schedules


class Projects(Resource):
    def list(self, org: str | None = None, *, page_size: int | None = None):
        return self._list("projects", schema.Project, page_size, org=org)

    def get(self, slug: str):
        return self._send(self._get(api_path("projects", slug), schema.Project))

    def create(self, org: str, name: str, slug: str | None = None):
        body = clean({"org": org, "name": name, "slug": slug})
        return self._send(
            Call("POST", "projects", json=body, parse=parse_one(self._client, schema.Project))
        )

    def limits(self, project: str):
        """Per backend the project's organisation may use, a `schema.ProjectLimit`: its cap
        (`max_running`) and quota (`jobs_per_day`), None where there is none, with its jobs
        running there now and those asked for there in the last 24 hours."""

        def read(response) -> list[schema.ProjectLimit]:
            return [schema.ProjectLimit.model_validate(row) for row in response.json()]

        return self._send(Call("GET", api_path("projects", project, "limits"), parse=read))

    def set_limits(
        self, project: str, backend: str, *, max_running: int | None, jobs_per_day: int | None
    ):
        """Set the project's cap and quota on `backend` (for administrators); None lifts one.
        Both are given each time, so a limit is never lifted by leaving it out. Returns the
        `schema.ProjectLimit` as it is now."""
        body = {"max_running": max_running, "jobs_per_day": jobs_per_day}
        path = api_path("projects", project, "limits", backend)
        return self._send(
            Call("PUT", path, json=body, parse=parse_one(self._client, schema.ProjectLimit))
        )


class Workspaces(Resource):
    def list(
        self,
        project: str | None = None,
        archived: bool | None = None,
        *,
        page_size: int | None = None,
    ):
        return self._list(
            "workspaces", schema.Workspace, page_size, project=project, archived=archived
        )

    def get(self, name: str | None = None):
        """A workspace; without a name, this client's default one."""
        return self._send(
            self._get(api_path("workspaces", self._workspace(name)), schema.Workspace)
        )

    def create(
        self, name: str, project: str, repo: str, branch: str = "main", notifications: bool = True
    ):
        body = {
            "name": name,
            "project": project,
            "repo": repo,
            "branch": branch,
            "notifications": notifications,
        }
        return self._send(
            Call("POST", "workspaces", json=body, parse=parse_one(self._client, schema.Workspace))
        )


class Backends(Resource):
    """Backends one may use, each with whether its runner is online and when it was last seen."""

    def list(self):
        return self._list("backends", Backend, None)

    def get(self, slug: str):
        return self._send(self._get(api_path("backends", slug), Backend))

    def create(self, slug: str, name: str, log_policy: str = "full"):
        body = {"slug": slug, "name": name, "log_policy": log_policy}
        return self._send(
            Call("POST", "backends", json=body, parse=parse_one(self._client, Backend))
        )


class ActionsResource(Resource):
    def list(self, workspace: str | None = None, sha: str | None = None):
        """The actions of the workspace's project.yaml (at `sha`, or its branch head)."""
        call = self._get(api_path("workspaces", self._workspace(workspace), "actions"), Actions)
        call.params = clean({"sha": sha})
        return self._send(call)


class Events(Resource):
    def follow(
        self,
        workspace: str | None = None,
        backend: str | None = None,
        job_request: str | None = None,
        kinds: Iterable[str] | None = None,
        last_event_id: int | None = None,
        run: str | None = None,
    ):
        """Live events (`LiveEvent`: id, kind, data) as they happen, for as long as iterated.

        Filters as the API's: a workspace, a backend, a job request, a study run (the events
        of all its sites), kinds (job, job_request, log). A dropped stream is resumed where
        it stopped (Last-Event-ID).
        """
        params = event_params(workspace, backend, job_request, kinds, run=run)
        return self._client._events(params, last_event_id=last_event_id, connected=False)


def attach(client: Any) -> None:
    client.projects = Projects(client)
    client.workspaces = Workspaces(client)
    client.backends = Backends(client)
    client.actions = ActionsResource(client)
    client.job_requests = JobRequests(client)
    client.runs = Runs(client)
    client.jobs = Jobs(client)
    client.releases = Releases(client)
    client.events = Events(client)
    client.datasets = Datasets(client)
    client.schedules = Schedules(client)
