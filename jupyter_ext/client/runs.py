"""`client.runs`: one study at several sites, followed as one and its released outputs
collected from every site."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from ._http import clean
from ._resource import Resource, api_path, name_of
from .models import StudyRun


class Runs(Resource):
    def list(self, workspace: str | None = None, *, page_size: int | None = None):
        """Newest first."""
        return self._list("runs", StudyRun, page_size, workspace=workspace)

    def get(self, id: str):
        return self._send(self._get(api_path("runs", id), StudyRun))

    def create(
        self,
        workspace: str | None = None,
        *,
        actions: Iterable[str],
        backends: Iterable[str],
        sha: str | None = None,
        force_run_dependencies: bool = False,
        notify: bool = True,
        github_token: str | None = None,
        parameters: dict[str, dict] | None = None,
        idempotency_key: str | None = None,
    ):
        """Run `actions` (and what they need) at every one of `backends`, at one commit (`sha`,
        or the branch head): a job request at each site, planned against that site's own
        last states and datasets. Refused, naming the site, before anything runs if any site
        may not run it. `parameters` overrides notebook actions' values, as for a job request.

        Sent with an Idempotency-Key (a new one per call unless given), so a retry after a
        lost answer never starts the study twice.
        """
        body = {
            "workspace": self._workspace(workspace),
            "backends": list(backends),
            "actions": list(actions),
            "sha": sha,
            "notify": notify,
            "force_run_dependencies": force_run_dependencies,
            "github_token": github_token,
            "parameters": parameters or {},
        }
        return self._submit("runs", StudyRun, body, idempotency_key)

    def refresh(self, run: StudyRun):
        return self._send(self._get(api_path("runs", run.id), StudyRun, run))

    def cancel(self, run: str | StudyRun, backend: str | None = None):
        """Every site's unfinished jobs, or only those at `backend`."""
        into = run if isinstance(run, StudyRun) else None
        call = self._get(api_path("runs", name_of(run, "id"), "cancel"), StudyRun, into)
        call.method, call.params = "POST", clean({"backend": backend})
        return self._send(call)

    def wait(self, run: str | StudyRun, timeout: float | None = None, progress: bool = True):
        """Follow every site's jobs live, one progress bar over all of them, until each has
        finished; returns the run, updated. A site whose runner is offline keeps it waiting
        (its part says so: `run.sites[i].message`), so give a `timeout` where that matters."""
        return self._client._wait(run, timeout, progress, run=True)

    def collect(self, run: str | StudyRun, folder: str | Path = "collected"):
        """Every site's released outputs of this run, into `folder/<backend>/<path>`, each
        checked against its sha256, with `folder/manifest.json` naming each file's site,
        release, job and provenance. Returns the `Collected` manifest; a site with nothing
        released yet is named in its `missing`."""
        return self._client._collect(run, Path(folder))
