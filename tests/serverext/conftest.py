"""A real job server with the sample workspace, and a Jupyter server (pytest-jupyter) on its
checkout with the server extension, speaking to it as `dev`."""

from __future__ import annotations

import subprocess

import pytest

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer


@pytest.fixture
def world(tmp_path):
    world = build_world(JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path), tmp_path)
    world.dev_token = world.client("dev").headers["Authorization"].removeprefix("Bearer ")
    yield world
    world.close()


@pytest.fixture
def jp_root_dir(tmp_path, world):
    """The workspace's checkout, cloned from its repository at its branch."""
    root = tmp_path / "checkout"
    subprocess.run(
        ["git", "clone", "-q", "-b", "main", str(tmp_path / "repos" / "sample"), str(root)],
        check=True,
    )
    return root


@pytest.fixture
def jp_server_config(world):
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_ext.serverext": True}},
        "JupyterExtServer": {
            "jobserver_url": world.base_url.removesuffix("api/v1/"),
            "workspace": "sample",
            "token": world.dev_token,
        },
    }
