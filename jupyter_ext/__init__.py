"""jupyter-ext: secure research jobs from JupyterHub."""

from ._version import __version__

__all__ = ["__version__"]
