"""The server extension as a Jupyter Server `ExtensionApp`: its settings and its handlers.

Where the job server is, which workspace this is and the token to speak with are traits,
set as `c.JupyterExtServer.jobserver_url = ...` or, by default, from the environment the
hub's pre-spawn hook gives (JUPYTER_EXT_JOBSERVER_URL, JUPYTER_EXT_WORKSPACE,
JUPYTER_EXT_TOKEN or JUPYTERHUB_API_TOKEN). Every handler lives under `{base_url}jupyter-ext/`
and requires a signed-in user (`tests/serverext/test_auth.py` walks them all).
"""

from __future__ import annotations

import os

from jupyter_server.extension.application import ExtensionApp
from tornado.ioloop import IOLoop
from traitlets import Unicode, default

from .check import CheckHandler
from .collect import CollectHandler
from .git_push import CommitPushHandler
from .handlers import (
    ActionsHandler,
    FileHandler,
    ProxyHandler,
    WorkspaceHandler,
)
from .notebook_handlers import NotebookActionHandler

URL = "jupyter-ext"  # the handlers' namespace, under the server's base URL


class JupyterExtServer(ExtensionApp):
    """The workspace server's side of the Jobs panel and the widgets."""

    name = "jupyter_ext"
    load_other_extensions = True

    jobserver_url = Unicode(
        help="""The job server's root, e.g. http://127.0.0.1:8100/services/jobserver/.

        Default: $JUPYTER_EXT_JOBSERVER_URL, which the hub's pre-spawn hook sets.
        Example: c.JupyterExtServer.jobserver_url = "https://hub.example.org/services/jobserver/"
        """
    ).tag(config=True)
    workspace = Unicode(
        help="The workspace this server is for. Default: $JUPYTER_EXT_WORKSPACE."
    ).tag(config=True)
    token = Unicode(
        help="""The token sent to the job server (never to the browser).

        Default: $JUPYTER_EXT_TOKEN, else $JUPYTERHUB_API_TOKEN (the hub's token of this user).
        """
    ).tag(config=True)
    root_dir = Unicode(help="The workspace's checkout. Default: the server's root folder.")

    @default("jobserver_url")
    def _default_jobserver_url(self) -> str:
        return os.environ.get("JUPYTER_EXT_JOBSERVER_URL", "")

    @default("workspace")
    def _default_workspace(self) -> str:
        return os.environ.get("JUPYTER_EXT_WORKSPACE", "")

    @default("token")
    def _default_token(self) -> str:
        return os.environ.get("JUPYTER_EXT_TOKEN") or os.environ.get("JUPYTERHUB_API_TOKEN", "")

    @default("root_dir")
    def _default_root_dir(self) -> str:
        return self.serverapp.root_dir if self.serverapp is not None else os.getcwd()

    def initialize_settings(self) -> None:
        where = self.jobserver_url or "nowhere (set JUPYTER_EXT_JOBSERVER_URL)"
        self.log.info("jupyter-ext: workspace %s, job server %s", self.workspace, where)
        # once every extension has set its own hook (JupyterHub's does): added to theirs
        IOLoop.current().add_callback(add_to_page_config, self.serverapp.web_app.settings, self)

    def initialize_handlers(self) -> None:
        self.handlers.extend(
            [
                (f"{URL}/workspace", WorkspaceHandler),
                (f"{URL}/actions", ActionsHandler),
                (f"{URL}/check", CheckHandler),
                (f"{URL}/collect", CollectHandler),
                (f"{URL}/notebook-action", NotebookActionHandler),
                (f"{URL}/git/commit-push", CommitPushHandler),
                (f"{URL}/api/(.*)", ProxyHandler),
                (f"{URL}/files/([0-9A-Za-z]+)", FileHandler),
            ]
        )


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
