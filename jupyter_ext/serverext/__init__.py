"""The server extension of a workspace server: handlers under `/jupyter-ext/`.

They give the Lab panel and the widgets the workspace, its actions read live
from the checkout, the checkout's state, and a proxy to the job server that
adds the user's credentials on the server side, so that code in the browser
never holds a token. `JupyterExtServer` (`extension.py`) is the `ExtensionApp`;
`jupyter-config/` enables it on install.
"""

from __future__ import annotations

from .extension import JupyterExtServer, add_to_page_config


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "jupyter_ext.serverext", "app": JupyterExtServer}]


__all__ = ["JupyterExtServer", "add_to_page_config"]
