"""The server extension of a workspace server: handlers under `/jupyter-ext/`.

They give the Lab panel and the widgets the workspace, its actions read live
from the checkout, the checkout's state, and a proxy to the job server that
adds the user's credentials on the server side, so that code in the browser
never holds a token.
"""

from __future__ import annotations

from .handlers import setup_handlers
from .settings import JupyterExtServer


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "jupyter_ext.serverext"}]


def _load_jupyter_server_extension(serverapp) -> None:
    settings = JupyterExtServer(parent=serverapp, root_dir=serverapp.root_dir)
    setup_handlers(serverapp.web_app, settings)
    where = settings.jobserver_url or "nowhere (set JUPYTER_EXT_JOBSERVER_URL)"
    serverapp.log.info("jupyter-ext: workspace %s, job server %s", settings.workspace, where)


__all__ = ["JupyterExtServer"]
