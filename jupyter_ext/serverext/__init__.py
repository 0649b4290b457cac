"""The server extension of a workspace server: handlers under `/jupyter-ext/`.

They give the Lab panel and the widgets the workspace, its actions read live
from the checkout, the checkout's state, and a proxy to the job server that
adds the user's credentials on the server side, so that code in the browser
never holds a token.
"""

from __future__ import annotations

from tornado.ioloop import IOLoop

from .handlers import setup_handlers
from .settings import JupyterExtServer


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "jupyter_ext.serverext"}]


def _load_jupyter_server_extension(serverapp) -> None:
    settings = JupyterExtServer(parent=serverapp, root_dir=serverapp.root_dir)
    setup_handlers(serverapp.web_app, settings)
    # once every extension has set its own hook (JupyterHub's does): added to theirs
    IOLoop.current().add_callback(add_to_page_config, serverapp.web_app.settings, settings)
    where = settings.jobserver_url or "nowhere (set JUPYTER_EXT_JOBSERVER_URL)"
    serverapp.log.info("jupyter-ext: workspace %s, job server %s", settings.workspace, where)


def add_to_page_config(web_settings: dict, settings: JupyterExtServer) -> None:
    """JupyterLab's page says which workspace this is: the Jobs panel asks for its lists at
    once, without waiting for the workspace's record (which reads git and the job server)."""
    before = web_settings.get("page_config_hook")

    def hook(handler, page_config: dict) -> dict:
        if before is not None:
            page_config = before(handler, page_config)
        page_config["jupyterExtWorkspace"] = settings.workspace
        return page_config

    web_settings["page_config_hook"] = hook


__all__ = ["JupyterExtServer"]
