"""The client's tests share a running job server (SQLite) with the usual world."""

from __future__ import annotations

import pytest

from jupyter_ext.client import Client

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer
from ..jobserver.mocking import MockJobServerApp


def root(world) -> str:
    return world.base_url.removesuffix("api/v1/")


@pytest.fixture
def world(tmp_path):
    server = JobServer(
        f"sqlite:///{tmp_path / 'js.sqlite'}",
        tmp_path,
        MockJobServerApp(release_dir=str(tmp_path / "released")),
    )
    world = build_world(server, tmp_path)
    yield world
    world.close()


@pytest.fixture
def connect(world):
    """connect(username, **options): a Client of the running job server, speaking as them."""
    made = []

    def connect(username: str, **options) -> Client:
        made.append(Client(root(world), token=world.tokens[username], **options))
        return made[-1]

    yield connect
    for client in made:
        client.close()
