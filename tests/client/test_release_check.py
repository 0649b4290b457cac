"""`client.releases.check`: the backend's pre-release rules over files in the notebook, against
the real job server (uvicorn, SQLite), with the rules a runner reported in its heartbeat."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_ext import schema
from jupyter_ext.client import AsyncClient, Client, ClientError, NotFound

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer

TIGHT = schema.ReleaseRules(max_csv_rows=2, forbidden_columns=["nhs_no"])


@pytest.fixture
def world(tmp_path):
    world = build_world(JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path), tmp_path)
    yield world
    world.close()


@pytest.fixture
def connect(world):
    """connect(**options): a Client of the running job server, speaking as `dev`."""
    made = []

    def connect(**options) -> Client:
        made.append(Client(root(world), token=world.tokens["dev"], **options))
        return made[-1]

    yield connect
    for client in made:
        client.close()


def root(world) -> str:
    return world.base_url.removesuffix("api/v1/")


def site_reports(world, rules: schema.ReleaseRules) -> None:
    """The backend's runner says its rules, as on every heartbeat."""
    beat = {
        "version": "t",
        "executor": "local",
        "capacity": 0,
        "release_rules": rules.model_dump(mode="json"),
    }
    world.client(token=world.runner_token).post("runner/heartbeat", json=beat).raise_for_status()


@pytest.fixture
def workspace(tmp_path):
    """A checkout with an aggregate table, one with small counts and a plot."""
    folder = tmp_path / "checkout"
    (folder / "output").mkdir(parents=True)
    (folder / "output" / "table.csv").write_text("region,count\nnorth,35\nsouth,40\neast,55\n")
    (folder / "output" / "small.csv").write_text("region,nhs_no,count\nnorth,x,3\nsouth,y,40\n")
    (folder / "output" / "plot.svg").write_text("<svg/>")
    return folder


def messages(checks: list[schema.FileCheck]) -> dict[str, list[str]]:
    return {c.path: [f.rule for f in c.findings] for c in checks}


def test_without_a_backend_the_default_rules_run_on_files_of_the_current_folder(
    world, connect, workspace, monkeypatch
):
    site_reports(world, TIGHT)  # not asked for: no backend named or configured
    monkeypatch.chdir(workspace)
    monkeypatch.delenv("JUPYTER_EXT_BACKEND", raising=False)
    checks = connect().releases.check(["output/table.csv", "output/small.csv"])
    assert [type(c) for c in checks] == [schema.FileCheck, schema.FileCheck]
    assert messages(checks) == {"output/table.csv": [], "output/small.csv": ["small_number"]}
    assert checks[1].refused and checks[1].findings[0].cells == [(1, "count")]
    assert "suppress or round them" in checks[1].findings[0].message
    (one,) = connect().releases.check(workspace / "output" / "plot.svg")  # one path
    assert (one.path, one.findings) == ("output/plot.svg", [])


def test_the_backends_rules_as_its_runner_reported_them(world, connect, workspace, monkeypatch):
    site_reports(world, TIGHT)
    paths = ["output/table.csv", "output/small.csv"]
    named = connect().releases.check(paths, backend="tpp", workspace_dir=workspace)
    assert messages(named) == {
        "output/table.csv": ["rows"],
        "output/small.csv": ["forbidden_column", "small_number"],
    }
    assert "over the limit of 2: release an aggregate" in named[0].findings[0].message
    by_default = connect(backend="tpp").releases.check(paths, workspace_dir=workspace)
    assert by_default == named
    monkeypatch.setenv("JUPYTER_EXT_BACKEND", "tpp")
    with Client(root(world), token=world.tokens["dev"]) as from_env:
        assert from_env.backend == "tpp"
        assert from_env.releases.check(paths, workspace_dir=workspace) == named
    with pytest.raises(NotFound):
        connect().releases.check(paths, backend="nope", workspace_dir=workspace)


def test_a_path_out_of_the_workspace_or_to_no_file_is_refused_before_anything_is_read(
    world, connect, workspace, tmp_path
):
    (tmp_path / "secret.csv").write_text("patient_id\n1\n")
    (workspace / "output" / "link.csv").symlink_to(tmp_path / "secret.csv")
    dev = connect()
    for path in ["../secret.csv", tmp_path / "secret.csv", "output/link.csv"]:
        with pytest.raises(ClientError, match=r"is outside the workspace folder .*: only files"):
            dev.releases.check(["output/table.csv", path], workspace_dir=workspace)
    with pytest.raises(ClientError, match=r"'output/none.csv' is not a file in .*: check the path"):
        dev.releases.check("output/none.csv", workspace_dir=workspace)
    with pytest.raises(ClientError, match="is not a folder"):
        dev.releases.check("t.csv", workspace_dir=workspace / "output" / "table.csv")


def test_the_async_client_does_the_same(world, workspace):
    site_reports(world, TIGHT)

    async def main():
        async with AsyncClient(root(world), token=world.tokens["dev"]) as dev:
            named = await dev.releases.check(["output/table.csv"], "tpp", workspace)
            default = await dev.releases.check(["output/table.csv"], workspace_dir=workspace)
            with pytest.raises(ClientError, match="outside the workspace folder"):
                dev.releases.check("../x.csv", workspace_dir=workspace)  # at once, not awaited
            return named, default

    named, default = asyncio.run(main())
    assert messages(named) == {"output/table.csv": ["rows"]}
    assert messages(default) == {"output/table.csv": []}
