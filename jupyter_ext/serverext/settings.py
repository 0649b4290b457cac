"""Where the job server is and which workspace this is: from the hub's environment.

The hub's pre-spawn hook sets JUPYTER_EXT_JOBSERVER_URL, JUPYTER_EXT_WORKSPACE
and JUPYTERHUB_API_TOKEN (a token of this user, allowed to use the job server);
each is also a trait, for a server started by hand.
"""

from __future__ import annotations

import os

from traitlets import Unicode, default
from traitlets.config import LoggingConfigurable


class JupyterExtServer(LoggingConfigurable):
    jobserver_url = Unicode(
        help="The job server's root, e.g. http://127.0.0.1:8100/services/jobserver/"
    ).tag(config=True)
    workspace = Unicode(help="The workspace this server is for.").tag(config=True)
    token = Unicode(help="The token sent to the job server (never to the browser).").tag(
        config=True
    )
    root_dir = Unicode(help="The workspace's checkout (the server's root folder).")

    @default("jobserver_url")
    def _default_jobserver_url(self) -> str:
        return os.environ.get("JUPYTER_EXT_JOBSERVER_URL", "")

    @default("workspace")
    def _default_workspace(self) -> str:
        return os.environ.get("JUPYTER_EXT_WORKSPACE", "")

    @default("token")
    def _default_token(self) -> str:
        return os.environ.get("JUPYTER_EXT_TOKEN") or os.environ.get("JUPYTERHUB_API_TOKEN", "")

    @property
    def api_url(self) -> str:
        return self.jobserver_url.rstrip("/") + "/api/v1/"
