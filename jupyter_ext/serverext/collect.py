"""`POST jupyter-ext/collect`: a study run's released outputs from every site, into the workspace.

`{"run": "<id>", "folder": "collected/<id>"}` fetches, as this server's user, each site's
released files of the run into `<folder>/<backend>/<path>`, each checked against its sha256,
with `<folder>/manifest.json` naming each file's site, release, job and provenance (the
client's `runs.collect`). The folder is a path from the top of the workspace, as the file
browser shows it (`collected/<id>` when not given); one that leads out of it (an absolute
path, `..`, a link to outside on the way or inside the folder) is refused before anything is
written. The answer is the manifest: the files written, and each site with nothing released
yet with why (`missing`).
"""

from __future__ import annotations

import re
from pathlib import Path

from jupyter_server.auth.decorator import authorized
from tornado import web

from .handlers import Base, client_errors
from .paths import links_out, workspace_path

RUN_ID = re.compile(r"^[0-9A-Za-z]{1,64}$")
HINT = "name a folder of the workspace by its path from the top, e.g. collected/my-run"


def collection_folder(root: Path, folder: str) -> Path:
    """Where a collection may be written: a folder inside `root`, not `root` itself, holding
    no link that leads out of it (the files are written below such links)."""
    root = root.resolve()
    target = workspace_path(root, folder, kind="folder", use="written to", hint=HINT)
    if target == root:
        raise web.HTTPError(400, f"give a folder for the collection, not the top: {HINT}")
    if target.exists() and not target.is_dir():
        raise web.HTTPError(400, f"{folder} is a file of the workspace: {HINT}")
    if leaving := links_out(target, root):
        raise web.HTTPError(
            400,
            f"{folder} holds a link to outside the workspace ({leaving[0]}): "
            "collect into another folder",
        )
    return target


class CollectHandler(Base):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        body = self.get_json_body() or {}
        run, folder = body.get("run"), body.get("folder")
        if not isinstance(run, str) or not RUN_ID.match(run):
            raise web.HTTPError(400, 'give "run": the id of a study run')
        if folder is None:
            folder = f"collected/{run}"
        if not isinstance(folder, str) or not folder.strip():
            raise web.HTTPError(400, f'give "folder": {HINT}')
        root = Path(self.ext.root_dir).resolve()
        target = collection_folder(root, folder)  # refused before the job server is asked
        with client_errors():
            async with self.client() as client:
                collected = await client.runs.collect(run, target)
        self.write_json(
            {
                "run": collected.run,
                "folder": target.relative_to(root).as_posix(),
                "files": [f.to_json() for f in collected.files],
                "missing": collected.missing,
                "complete": collected.complete,
            }
        )
