"""`POST jupyter-ext/check`: a backend's pre-release rules over files, before anyone is asked.

`{"paths": [...], "backend": "tpp"}` judges files of the workspace (the checkout: a table made
with dummy data, say) with the rules every file on the site meets; `{"job": "...", "paths":
[...]}` judges outputs of a job on its backend as the job server will when a release is asked
for (their bytes never leave the site: what the site found, with their name and size under the
rules now). Either way the answer is a list of `FileCheck`, in the order of `paths`.
"""

from __future__ import annotations

import json
from pathlib import Path

from jupyter_server.auth.decorator import authorized
from tornado import web

from .. import schema
from ..client import AsyncClient
from .handlers import Base, client_errors
from .paths import workspace_path

MAX_PATHS = 1000  # as many files as a release may hold


def workspace_file(root: Path, path: str) -> Path:
    """The file `path` names inside `root`; refused if the name or a link leads out of it."""
    hint = "name a file of the workspace by its path from the top, e.g. output/table.csv"
    real = workspace_path(root, path, kind="file", use="checked", hint=hint)
    if not real.is_file():
        raise web.HTTPError(404, f"there is no file {path} in the workspace")
    return real


class CheckHandler(Base):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.get_json_body() or {}
        paths, job, backend = body.get("paths"), body.get("job"), body.get("backend")
        if (
            not isinstance(paths, list)
            or not 0 < len(paths) <= MAX_PATHS
            or not all(isinstance(p, str) and p for p in paths)
        ):
            raise web.HTTPError(400, f'give "paths": a list of 1 to {MAX_PATHS} file paths')
        with client_errors():
            async with self.client() as client:
                if job:
                    checks = await self.job_outputs(client, str(job), paths)
                else:
                    root = Path(self.ext.root_dir)
                    for path in paths:  # refused before any call, saying which way it leaves
                        workspace_file(root, path)
                    backend = await self.backend(client, backend)
                    checks = await client.releases.check(paths, backend, workspace_dir=root)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps([c.model_dump(mode="json") for c in checks]))

    async def backend(self, client: AsyncClient, backend: str | None) -> str:
        """The backend named, else the only one the user may use (its rules are the ones)."""
        if backend:
            return backend
        slugs = [b.slug async for b in client.backends.list()]
        if len(slugs) != 1:
            choices = ", ".join(slugs) or "none you may use"
            raise web.HTTPError(
                400, f'name the backend whose rules apply ("backend"): one of {choices}'
            )
        return slugs[0]

    async def job_outputs(
        self, client: AsyncClient, job: str, paths: list[str]
    ) -> list[schema.FileCheck]:
        found = await client.jobs.get(job)
        outputs = {o.path: o for o in await client.jobs.outputs(job)}
        rules = (await client.backends.get(found.backend)).release_rules
        checks = []
        for path in paths:
            output = outputs.get(path)
            if output is None:
                raise web.HTTPError(404, f"the job {job} recorded no output {path}")
            if output.privacy_level != "moderately_sensitive":
                raise web.HTTPError(
                    400,
                    f"{path} is {output.privacy_level}: only moderately "
                    "sensitive outputs can be released",
                )
            checks.append(schema.check_recorded(path, output.size, output.check, rules))
        return checks
