"""jupyter-ext's part of JupyterHub: settings, the spawn hook, the home page's workspaces.

`jupyterhub_config.py` (beside this package) sets `c.JupyterExtHub` traits and calls
`configure(c)`, which turns them into JupyterHub's own configuration.
"""

from .settings import JupyterExtHub, configure

__all__ = ["JupyterExtHub", "configure"]
