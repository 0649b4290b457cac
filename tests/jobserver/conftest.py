from __future__ import annotations

import pytest

from .harness import JobServer, make_repo


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path):
    """Every job server test runs on SQLite and on a real PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'jobserver.sqlite'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def server(db_url, tmp_path):
    js = JobServer(db_url, tmp_path)
    js.start()
    yield js
    js.close()


@pytest.fixture
def world(server, tmp_path):
    return build_world(server, tmp_path)


def build_world(server, tmp_path):
    """An organisation with a backend, a project with members in each role, a workspace."""
    if getattr(server, "base_url", None) is None:
        server.start()
    server.runner_token = server.backend("tpp")
    server.org("uni", ["tpp"])
    server.user("admin", ["core_developer"])
    server.user("dev")
    server.user("coord")
    server.user("collab")
    server.user("outsider")
    server.project(
        "uni",
        "Sample study",
        {
            "dev": ["project_developer"],
            "coord": ["project_coordinator"],
            "collab": ["project_collaborator"],
        },
    )
    server.sha = make_repo(tmp_path / "repos" / "sample")
    server.workspace("sample-study", "sample", tmp_path / "repos" / "sample")
    return server
