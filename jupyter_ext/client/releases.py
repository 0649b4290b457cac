"""`client.releases`: asking for, reviewing, publishing and downloading released files."""

from __future__ import annotations

import datetime as dt
import hashlib
import inspect
from pathlib import Path
from typing import Any

import httpx

from .. import schema
from . import checking
from ._http import FILES, Call, clean
from ._resource import Resource, api_path, name_of, parse_one
from .download import download_targets
from .errors import ChecksumMismatch
from .models import Job, Release
from .reviewing import waiting_files


class Releases(Resource):
    def list(
        self,
        workspace: str | None = None,
        state: str | None = None,
        *,
        backend: str | None = None,
        page_size: int | None = None,
    ):
        """Newest first; `backend`: only what leaves that site."""
        return self._list(
            "releases", Release, page_size, workspace=workspace, state=state, backend=backend
        )

    def get(self, id: str):
        return self._send(self._get(api_path("releases", id), Release))

    def refresh(self, release: Release):
        return self._send(self._get(api_path("releases", release.id), Release, release))

    def check(
        self,
        paths: checking.Paths,
        backend: str | None = None,
        workspace_dir: str | Path | None = None,
    ):
        """The backend's pre-release rules over local files (paths relative to `workspace_dir`,
        else the current folder): a `schema.FileCheck` per file, to fix what they find before
        asking (its rounding and suppression rules too), with a table's `summary`, what the
        checkers will read. Without a backend, the client's default one's rules, else the
        defaults."""
        return checking.check(self._client, paths, backend, workspace_dir)

    def create(self, workspace: str | None = None, *, backend: str, groups: dict[str, Any]):
        """Ask for outputs to be released: `groups` maps a name to a `schema.ReleaseGroup`
        (or its dict: context, disclosure_control, files=[{job, path}])."""
        groups = {
            name: g.model_dump(mode="json") if isinstance(g, schema.Model) else g
            for name, g in groups.items()
        }
        body = {"workspace": self._workspace(workspace), "backend": backend, "groups": groups}
        return self._send(
            Call("POST", "releases", json=body, parse=parse_one(self._client, Release))
        )

    def review(
        self,
        release: str | Release,
        file: str | schema.ReleaseFile,
        decision: str,
        comment: str = "",
    ):
        """An output checker's vote on one file: approve, request_changes or reject."""
        path = api_path("releases", name_of(release, "id"), "files", name_of(file, "id"), "reviews")
        return self._send(
            Call(
                "POST",
                path,
                json={"decision": decision, "comment": comment},
                parse=parse_one(self._client, Release),
            )
        )

    def review_copy(self, release: str | Release, file: schema.ReleaseFile) -> bytes:
        """The bytes of a file under review, for an output checker who may vote on it (never
        its author): its site sent them for review; the job server records each read.
        Raises `ChecksumMismatch` if they are not the frozen file's."""
        path = api_path("releases", name_of(release, "id"), "files", file.id, "review-copy")

        def checked(response: httpx.Response) -> bytes:
            if hashlib.sha256(response.content).hexdigest() != file.sha256:
                raise ChecksumMismatch(f"the review copy of {file.path} is not the frozen file")
            return response.content

        return self._send(Call("GET", path, parse=checked))

    def publish(self, release: str | Release):
        return self._send(
            Call(
                "POST",
                api_path("releases", name_of(release, "id"), "publish"),
                parse=parse_one(self._client, Release),
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
        path = api_path("releases", name_of(release, "id"), "files", name_of(file, "id"), "reviews")
        body = {"decision": decision, "comment": comment}
        return self._send(Call("PUT", path, json=body, parse=parse_one(self._client, Release)))

    def withdraw_review(self, release: str | Release, file: str | schema.ReleaseFile):
        """Take one's own vote on a file back (an approval, or any decision) until the file
        is published: it goes back to the state the other votes give."""
        path = api_path("releases", name_of(release, "id"), "files", name_of(file, "id"), "reviews")
        return self._send(Call("DELETE", path, parse=parse_one(self._client, Release)))

    def export(
        self,
        project: str | None = None,
        since: str | dt.date | None = None,
        until: str | dt.date | None = None,
        format: str = "json",
    ):
        """The auditors' record of release decisions (administrators and output checkers):
        every file version of the releases requested from `since` to `until` (days, both
        included), with sha256, findings, votes, withdrawn votes and who published. JSON:
        a list of dicts; `format="csv"`: the CSV text, one row per vote."""
        params = clean(
            {
                "project": project,
                "from": str(since) if since else None,
                "to": str(until) if until else None,
                "format": format,
            }
        )
        read = (lambda r: r.text) if format == "csv" else (lambda r: r.json())
        return self._send(Call("GET", "release-decisions", params=params, parse=read))

    def comment(self, release: str | Release, file: str | schema.ReleaseFile, text: str):
        """A note on one file: the author's answer to the checkers, or between checkers."""
        path = api_path(
            "releases", name_of(release, "id"), "files", name_of(file, "id"), "comments"
        )
        return self._send(
            Call("POST", path, json={"text": text}, parse=parse_one(self._client, Release))
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
        url = api_path("releases", name_of(release, "id"), "files", name_of(file, "id"), "versions")
        body = clean({"job": name_of(job, "identifier"), "path": path, "comment": comment})
        return self._send(Call("POST", url, json=body, parse=parse_one(self._client, Release)))

    def withdraw(self, release: str | Release):
        """The author takes a request back: nothing of it will be published."""
        return self._send(
            Call(
                "POST",
                api_path("releases", name_of(release, "id"), "withdraw"),
                parse=parse_one(self._client, Release),
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
        return (
            f"{self._client.config.root}{FILES}{api_path('releases', 'file', name_of(file, 'id'))}"
        )

    def to_review(self, workspace: str | None = None):
        """Releases with files waiting for the caller's vote: open files they have not voted
        on, in requests they did not make. Each file that waits is in `waiting_files`."""
        me, requested = self._client.me(), self.list(workspace, state="requested")
        if inspect.isawaitable(me):
            return _waiting_async(me, requested)
        return [r for r in requested if waiting_files(r, me.username)]

    def queue(
        self, limit: int | None = None, history: int | None = None, before: int | None = None
    ):
        """The checkers' desk (a `schema.Desk`), for output checkers: the backlog of releases
        with open files, oldest first (`limit` of them), who holds each and which files wait
        for the caller; their own `history` latest votes (cast before the vote `before`);
        the median time from request to decision over the last 30 days."""
        params = clean({"limit": limit, "history": history, "before": before})
        desk = parse_one(self._client, schema.Desk)
        return self._send(Call("GET", api_path("releases", "queue"), params=params, parse=desk))

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
        chain = parse_one(self._client, schema.ProvenanceChain)
        return self._send(Call("GET", self._file_url(file) + "/provenance", parse=chain))


async def _waiting_async(me: Any, requested: Any) -> list[Release]:
    """`Releases.to_review` on an `AsyncClient`."""
    username = (await me).username
    return [r async for r in requested if waiting_files(r, username)]
