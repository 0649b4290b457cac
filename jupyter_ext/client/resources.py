"""The API's resources: each method builds a `Call`, the client sends it.

The same classes serve both clients: on a `Client` a method returns its result,
on an `AsyncClient` an awaitable; `list()` returns an iterator across every page
(`async for` on an `AsyncClient`), so nobody handles a cursor. Bodies go to the
job server as given: it validates them, and its 422 says what to change.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from .. import schema
from . import checking, datasets
from ._http import FILES, Call, clean
from .download import download_targets
from .errors import ChecksumMismatch, ClientError
from .events import event_params
from .models import (
    AccessRequest,
    Actions,
    Backend,
    Bound,
    Dataset,
    Job,
    JobRequest,
    Release,
)
from .reviewing import waiting_files


def _parse(client: Any, cls: type, into: Bound | None = None) -> Callable[[httpx.Response], Any]:
    """Read one `cls` (bound to `client`); with `into`, update that object and return it."""

    def parse(response: httpx.Response) -> Any:
        item = cls.model_validate(response.json())
        if isinstance(item, Bound):
            item._bind(client)
            return into._update(item) if into is not None else item
        return item

    return parse


def _parse_page(client: Any, cls: type) -> Callable[[httpx.Response], Any]:
    """Read a page, `{items, next}` (or a plain list): the bound items and the next URL."""

    def parse(response: httpx.Response) -> tuple[list, str | None]:
        body = response.json()
        page = schema.Page[cls].model_validate(body if isinstance(body, dict) else {"items": body})
        items = [i._bind(client) if isinstance(i, Bound) else i for i in page.items]
        return items, page.next

    return parse


def _path(*parts: str) -> str:
    """An API path from its segments, each quoted: a name can never change the address."""
    return "/".join(quote(part, safe="") for part in parts)


def _name(thing: Any, attribute: str) -> str:
    return thing if isinstance(thing, str) else getattr(thing, attribute)


class Resource:
    def __init__(self, client: Any) -> None:
        self._client = client

    def _send(self, call: Call) -> Any:
        return self._client._send(call)

    def _list(self, path: str, cls: type, page_size: int | None, **filters: Any) -> Any:
        params = clean({**filters, "limit": page_size})
        return self._client._iterate(
            Call("GET", path, params=params, parse=_parse_page(self._client, cls))
        )

    def _get(self, path: str, cls: type, into: Bound | None = None) -> Call:
        return Call("GET", path, parse=_parse(self._client, cls, into))

    def _workspace(self, workspace: str | None) -> str:
        workspace = workspace or self._client.workspace
        if not workspace:
            raise ClientError("which workspace? Name one, or set JUPYTER_EXT_WORKSPACE")
        return workspace


class Projects(Resource):
    def list(self, org: str | None = None, *, page_size: int | None = None):
        return self._list("projects", schema.Project, page_size, org=org)

    def get(self, slug: str):
        return self._send(self._get(_path("projects", slug), schema.Project))

    def create(self, org: str, name: str, slug: str | None = None):
        body = clean({"org": org, "name": name, "slug": slug})
        return self._send(
            Call("POST", "projects", json=body, parse=_parse(self._client, schema.Project))
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
        return self._send(self._get(_path("workspaces", self._workspace(name)), schema.Workspace))

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
            Call("POST", "workspaces", json=body, parse=_parse(self._client, schema.Workspace))
        )


class Backends(Resource):
    """Backends one may use, each with whether its runner is online and when it was last seen."""

    def list(self):
        return self._list("backends", Backend, None)

    def get(self, slug: str):
        return self._send(self._get(_path("backends", slug), Backend))

    def create(self, slug: str, name: str, log_policy: str = "full"):
        body = {"slug": slug, "name": name, "log_policy": log_policy}
        return self._send(Call("POST", "backends", json=body, parse=_parse(self._client, Backend)))


class ActionsResource(Resource):
    def list(self, workspace: str | None = None, sha: str | None = None):
        """The actions of the workspace's project.yaml (at `sha`, or its branch head)."""
        call = self._get(_path("workspaces", self._workspace(workspace), "actions"), Actions)
        call.params = clean({"sha": sha})
        return self._send(call)


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
        return self._send(self._get(_path("job-requests", id), JobRequest))

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
        idempotency_key: str | None = None,
    ):
        """Run `actions` (and what they need) on `backend`, at `sha` or the branch head.

        Sent with an Idempotency-Key (a new one per call unless given), so a retry
        after a lost answer never makes a second request.
        """
        body = clean(
            {
                "workspace": self._workspace(workspace),
                "backend": backend,
                "actions": list(actions),
                "sha": sha,
                "notify": notify,
                "force_run_dependencies": force_run_dependencies,
                "github_token": github_token,
            }
        )
        key = idempotency_key or uuid.uuid4().hex
        return self._send(
            Call(
                "POST",
                "job-requests",
                json=body,
                headers={"Idempotency-Key": key},
                parse=_parse(self._client, JobRequest),
            )
        )

    def cancel(self, job_request: str | JobRequest):
        call = self._get(
            _path("job-requests", _name(job_request, "id"), "cancel"),
            JobRequest,
            job_request if isinstance(job_request, JobRequest) else None,
        )
        call.method = "POST"
        return self._send(call)

    def refresh(self, job_request: JobRequest):
        return self._send(self._get(_path("job-requests", job_request.id), JobRequest, job_request))

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
        return self._send(self._get(_path("jobs", identifier), Job))

    def refresh(self, job: Job):
        return self._send(self._get(_path("jobs", job.identifier), Job, job))

    def cancel(self, job: str | Job):
        call = self._get(
            _path("jobs", _name(job, "identifier"), "cancel"),
            Job,
            job if isinstance(job, Job) else None,
        )
        call.method = "POST"
        return self._send(call)

    def outputs(self, job: str | Job):
        """What the job produced (the files stay on the backend)."""
        call = Call(
            "GET",
            _path("jobs", _name(job, "identifier"), "outputs"),
            parse=lambda r: [schema.Output.model_validate(o) for o in r.json()],
        )
        return self._send(call)

    def provenance(self, job: str | Job):
        """What made the job's outputs (a `schema.Provenance`): its commit, what it ran in, and
        the sha256 of what it read and wrote, as its runner recorded them."""
        path = _path("jobs", _name(job, "identifier"), "provenance")
        return self._send(Call("GET", path, parse=_parse(self._client, schema.Provenance)))

    def logs(self, job: str | Job, follow: bool = False):
        """The job's log lines (`LogLine`, `str()` is the text), each once and in order.

        With `follow`, lines go on arriving live from the event stream until the job
        finishes; a dropped stream is resumed and lines it missed are read again.
        """
        return self._client._logs(job, follow)


class Releases(Resource):
    def list(
        self,
        workspace: str | None = None,
        state: str | None = None,
        *,
        page_size: int | None = None,
    ):
        return self._list("releases", Release, page_size, workspace=workspace, state=state)

    def get(self, id: str):
        return self._send(self._get(_path("releases", id), Release))

    def refresh(self, release: Release):
        return self._send(self._get(_path("releases", release.id), Release, release))

    def check(
        self,
        paths: checking.Paths,
        backend: str | None = None,
        workspace_dir: str | Path | None = None,
    ):
        """The backend's pre-release rules over local files (paths relative to `workspace_dir`,
        else the current folder): a `schema.FileCheck` per file, to fix what they find before
        asking. Without a backend, the client's default one's rules, else the defaults."""
        return checking.check(self._client, paths, backend, workspace_dir)

    def create(self, workspace: str | None = None, *, backend: str, groups: dict[str, Any]):
        """Ask for outputs to be released: `groups` maps a name to a `schema.ReleaseGroup`
        (or its dict: context, disclosure_control, files=[{job, path}])."""
        groups = {
            name: g.model_dump(mode="json") if isinstance(g, schema.Model) else g
            for name, g in groups.items()
        }
        body = {"workspace": self._workspace(workspace), "backend": backend, "groups": groups}
        return self._send(Call("POST", "releases", json=body, parse=_parse(self._client, Release)))

    def review(
        self,
        release: str | Release,
        file: str | schema.ReleaseFile,
        decision: str,
        comment: str = "",
    ):
        """An output checker's vote on one file: approve, request_changes or reject."""
        path = _path("releases", _name(release, "id"), "files", _name(file, "id"), "reviews")
        return self._send(
            Call(
                "POST",
                path,
                json={"decision": decision, "comment": comment},
                parse=_parse(self._client, Release),
            )
        )

    def review_copy(self, release: str | Release, file: schema.ReleaseFile) -> bytes:
        """The bytes of a file under review, for an output checker who may vote on it (never
        its author): its site sent them for review; the job server records each read.
        Raises `ChecksumMismatch` if they are not the frozen file's."""
        path = _path("releases", _name(release, "id"), "files", file.id, "review-copy")

        def checked(response: httpx.Response) -> bytes:
            if hashlib.sha256(response.content).hexdigest() != file.sha256:
                raise ChecksumMismatch(f"the review copy of {file.path} is not the frozen file")
            return response.content

        return self._send(Call("GET", path, parse=checked))

    def publish(self, release: str | Release):
        return self._send(
            Call(
                "POST",
                _path("releases", _name(release, "id"), "publish"),
                parse=_parse(self._client, Release),
            )
        )

    def change_review(
        self,
        release: str | Release,
        file: str | schema.ReleaseFile,
        decision: str,
        comment: str = "",
    ):
        """Change one's vote on a file (e.g. after the author's answer), until it is released."""
        path = _path("releases", _name(release, "id"), "files", _name(file, "id"), "reviews")
        body = {"decision": decision, "comment": comment}
        return self._send(Call("PUT", path, json=body, parse=_parse(self._client, Release)))

    def comment(self, release: str | Release, file: str | schema.ReleaseFile, text: str):
        """A note on one file: the author's answer to the checkers, or between checkers."""
        path = _path("releases", _name(release, "id"), "files", _name(file, "id"), "comments")
        return self._send(
            Call("POST", path, json={"text": text}, parse=_parse(self._client, Release))
        )

    def replace(
        self,
        release: str | Release,
        file: str | schema.ReleaseFile,
        job: str | Job,
        path: str | None = None,
        comment: str = "",
    ):
        """A new version of a file the checkers asked to change: the output of a newer `job`
        (at `path`, or the same path); the old version is kept. Only the author may."""
        url = _path("releases", _name(release, "id"), "files", _name(file, "id"), "versions")
        body = clean({"job": _name(job, "identifier"), "path": path, "comment": comment})
        return self._send(Call("POST", url, json=body, parse=_parse(self._client, Release)))

    def withdraw(self, release: str | Release):
        """The author takes a request back: nothing of it will be published."""
        return self._send(
            Call(
                "POST",
                _path("releases", _name(release, "id"), "withdraw"),
                parse=_parse(self._client, Release),
            )
        )

    def delete_file(self, file: str | schema.ReleaseFile):
        """Take a released file down (kept on the job server, so an administrator can
        restore it). Returns `{"id", "deleted"}`."""
        return self._send(Call("DELETE", self._file_url(file)))

    def restore_file(self, file: str | schema.ReleaseFile):
        """Put a deleted released file back (an administrator's act)."""
        return self._send(Call("POST", self._file_url(file) + "/restore"))

    def _file_url(self, file: str | schema.ReleaseFile) -> str:
        """A released file's address: under /api/v2, beside the API."""
        return f"{self._client.config.root}{FILES}{_path('releases', 'file', _name(file, 'id'))}"

    def to_review(self, workspace: str | None = None):
        """Releases with files waiting for the caller's vote: open files they have not voted
        on, in requests they did not make. Each file that waits is in `waiting_files`."""
        me, requested = self._client.me(), self.list(workspace, state="requested")
        if inspect.isawaitable(me):
            return _waiting_async(me, requested)
        return [r for r in requested if waiting_files(r, me.username)]

    def download(self, release_or_file: Release | schema.ReleaseFile, path: str | Path = "."):
        """Stream released files to disk, checking each one's sha256.

        A `ReleaseFile` goes to `path` (or into it, if it is a folder); a `Release`'s
        released files go under the folder `path` at their paths. Returns the path(s)
        written. A file whose bytes do not match raises `ChecksumMismatch`, leaving nothing.
        """
        return self._client._download(
            download_targets(release_or_file, Path(path)),
            single=isinstance(release_or_file, schema.ReleaseFile),
        )

    def provenance(self, file: str | schema.ReleaseFile):
        """How a release file was made (a `schema.ProvenanceChain`): the job that made it, then
        the jobs that made its inputs, back to the commit."""
        chain = _parse(self._client, schema.ProvenanceChain)
        return self._send(Call("GET", self._file_url(file) + "/provenance", parse=chain))


class Datasets(Resource):
    """Datasets of the backends: what they hold (description, owner, versions with their
    manifests), which a project may use, asking to use one, and their dummy data.

    Descriptions and manifests are for anyone signed in; a project's jobs read a dataset only
    once a Governance Reviewer approved its request. Where a project is not named it is the
    workspace's (a client inside a workspace server knows it); where a backend is not named,
    it is the one backend that has a dataset of that name.
    """

    def list(self, backend: str | None = None, project: str | None = None):
        """Every dataset (of `backend`), or with `project` only those it may use now; an
        iterator (`async for` on an AsyncClient)."""
        return self._list("datasets", Dataset, None, backend=backend, project=project)

    def get(self, backend: str, name: str):
        return self._send(self._get(_path("datasets", backend, name), Dataset))

    def usable(self, project: str | None = None):
        """The datasets `project` (the workspace's by default) may use now, as a list."""

        def flow():
            slug = yield from datasets.project_of(self._client, project)
            found = yield Call(
                "GET",
                "datasets",
                params={"project": slug},
                parse=datasets.parser(self._client, Dataset, many=True),
            )
            return found

        return datasets.drive(self._client, flow())

    def dummy(
        self,
        dataset: str | Dataset,
        backend: str | None = None,
        path: str | None = None,
        *,
        version: int | None = None,
        as_frame: bool = False,
    ):
        """A dataset's dummy data (a synthetic stand-in that may leave its site), in one call.

        A table (CSV or TSV) comes as a list of dicts, one a row, each value typed by its
        column's type in the manifest (int, float, bool, `datetime.date`; an empty cell is
        None); with `as_frame=True`, a `pandas.DataFrame` (pandas must be installed). Another
        file comes as bytes. With one file, or `path` naming one, that file; with several,
        a dict of each path's. The newest version with dummy data, or `version`. Each
        file's sha256 is checked against the manifest.
        """
        flow = datasets.dummy_flow(self._client, Dataset, dataset, backend, path, version, as_frame)
        return datasets.drive(self._client, flow)

    def request(
        self,
        dataset: str | Dataset,
        purpose: str,
        backend: str | None = None,
        project: str | None = None,
        versions: Iterable[int] | None = None,
    ):
        """Ask for `project` (the workspace's by default) to use a dataset, saying what for;
        every version unless `versions`. A Governance Reviewer decides."""

        def flow():
            slug = yield from datasets.project_of(self._client, project)
            found = dataset
            if isinstance(found, str):
                found = yield from datasets.find(self._client, Dataset, found, backend)
            body = {
                "project": slug,
                "backend": found.backend,
                "dataset": found.name,
                "purpose": purpose,
                "versions": list(versions) if versions else None,
            }
            made = yield Call(
                "POST",
                "dataset-access",
                json=clean(body),
                parse=_parse(self._client, AccessRequest),
            )
            return made

        return datasets.drive(self._client, flow())

    def access(
        self,
        project: str | None = None,
        state: str | None = None,
        *,
        page_size: int | None = None,
    ):
        """Requests to use datasets, newest first: those of the projects one may see (every
        one, for a Governance Reviewer), of `project` and in `state` if given."""
        return self._list("dataset-access", AccessRequest, page_size, project=project, state=state)

    def get_access(self, id: str):
        return self._send(self._get(_path("dataset-access", id), AccessRequest))

    def refresh(self, access: AccessRequest):
        return self._send(self._get(_path("dataset-access", access.id), AccessRequest, access))

    def withdraw(self, access: str | AccessRequest):
        """The one who asked takes the request back."""
        return self._decide(access, "withdraw", None)

    def approve(
        self, access: str | AccessRequest, reason: str = "", until: dt.date | str | None = None
    ):
        """A Governance Reviewer (not the one who asked) lets the project use the dataset,
        until the day `until` (inclusive) if given."""
        day = until.isoformat() if isinstance(until, dt.date) else until
        return self._decide(access, "approve", clean({"reason": reason, "until": day}))

    def reject(self, access: str | AccessRequest, reason: str = ""):
        return self._decide(access, "reject", {"reason": reason})

    def revoke(self, access: str | AccessRequest, reason: str = ""):
        """From now on the project's jobs cannot read it; its jobs waiting for it will not
        start."""
        return self._decide(access, "revoke", {"reason": reason})

    def _decide(self, access: str | AccessRequest, verb: str, body: dict | None):
        into = access if isinstance(access, AccessRequest) else None
        call = self._get(_path("dataset-access", _name(access, "id"), verb), AccessRequest, into)
        call.method, call.json = "POST", body
        return self._send(call)


async def _waiting_async(me: Any, requested: Any) -> list[Release]:
    """`Releases.to_review` on an `AsyncClient`."""
    username = (await me).username
    return [r async for r in requested if waiting_files(r, username)]


class Events(Resource):
    def follow(
        self,
        workspace: str | None = None,
        backend: str | None = None,
        job_request: str | None = None,
        kinds: Iterable[str] | None = None,
        last_event_id: int | None = None,
    ):
        """Live events (`LiveEvent`: id, kind, data) as they happen, for as long as iterated.

        Filters as the API's: a workspace, a backend, a job request, kinds (job,
        job_request, log). A dropped stream is resumed where it stopped (Last-Event-ID).
        """
        params = event_params(workspace, backend, job_request, kinds)
        return self._client._events(params, last_event_id=last_event_id, connected=False)


def attach(client: Any) -> None:
    client.projects = Projects(client)
    client.workspaces = Workspaces(client)
    client.backends = Backends(client)
    client.actions = ActionsResource(client)
    client.job_requests = JobRequests(client)
    client.jobs = Jobs(client)
    client.releases = Releases(client)
    client.events = Events(client)
    client.datasets = Datasets(client)
