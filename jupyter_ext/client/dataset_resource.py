"""`client.datasets`: the datasets a workspace's project may use, access to them, dummy data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from . import datasets
from ._http import Call, clean
from ._resource import Resource, api_path, name_of, parse_one
from .models import AccessRequest, Dataset


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
        return self._send(self._get(api_path("datasets", backend, name), Dataset))

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
                parse=parse_one(self._client, AccessRequest),
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
        return self._send(self._get(api_path("dataset-access", id), AccessRequest))

    def refresh(self, access: AccessRequest):
        return self._send(self._get(api_path("dataset-access", access.id), AccessRequest, access))

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
        call = self._get(
            api_path("dataset-access", name_of(access, "id"), verb), AccessRequest, into
        )
        call.method, call.json = "POST", body
        return self._send(call)
