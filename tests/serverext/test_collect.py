"""`POST jupyter-ext/collect`: a study run's released outputs into a folder of the workspace, in
a real Jupyter server against the real job server; a folder that leads out is refused and
nothing is written anywhere."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from ..jobserver.test_study_runs import two_sites


@pytest.fixture
def run(world) -> dict:
    """make_table at north and south (no runner at either: nothing runs, nothing released)."""
    two_sites(world)
    body = {"workspace": "sample", "backends": ["north", "south"], "actions": ["make_table"]}
    made = world.client("dev").post("runs", json=body)
    assert made.status_code == 201, made.text
    return made.json()


async def collect(jp_fetch, **body) -> dict:
    response = await jp_fetch("jupyter-ext", "collect", method="POST", body=json.dumps(body))
    return json.loads(response.body)


async def refused(jp_fetch, **body) -> tuple[int, str]:
    with pytest.raises(HTTPClientError) as error:
        await collect(jp_fetch, **body)
    return error.value.code, json.loads(error.value.response.body)["message"]


def every_file(folder) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


async def test_a_run_with_nothing_released_writes_its_manifest_saying_why(
    jp_fetch, jp_root_dir, run
):
    answer = await collect(jp_fetch, run=run["id"])  # the folder by default: collected/<id>
    assert answer["folder"] == f"collected/{run['id']}"
    assert answer["files"] == [] and answer["complete"] is False
    assert set(answer["missing"]) == {"north", "south"}
    assert "request a release of its outputs there" in answer["missing"]["north"]
    manifest = json.loads((jp_root_dir / answer["folder"] / "manifest.json").read_text())
    assert manifest["run"] == run["id"] and manifest["sites"] == ["north", "south"]
    assert manifest["missing"] == answer["missing"]
    # a folder of one's choosing, made as needed; an unknown run is the job server's 404
    again = await collect(jp_fetch, run=run["id"], folder="pooled/./first")
    assert again["folder"] == "pooled/first"
    assert (jp_root_dir / "pooled" / "first" / "manifest.json").is_file()
    code, message = await refused(jp_fetch, run="01NOSUCHRUN", folder="x")
    assert code == 404 and "01NOSUCHRUN" in message


async def test_a_folder_that_leads_out_of_the_workspace_is_refused_and_nothing_written(
    jp_fetch, jp_root_dir, tmp_path, run
):
    outside = tmp_path / "outside"
    outside.mkdir()
    (jp_root_dir / "out").symlink_to(outside)  # a link to outside, named as a folder
    (jp_root_dir / "pooled").mkdir()
    (jp_root_dir / "pooled" / "north").symlink_to(outside)  # one inside the folder
    before = every_file(jp_root_dir)
    for folder in ("../escaped", str(outside), "collected/../../escaped", "a/../b"):
        code, message = await refused(jp_fetch, run=run["id"], folder=folder)
        assert code == 400 and f"{folder} is outside the workspace" in message, message
    code, message = await refused(jp_fetch, run=run["id"], folder="out/run")
    assert code == 400 and "out/run is a link to a folder outside the workspace" in message
    code, message = await refused(jp_fetch, run=run["id"], folder="pooled")
    assert code == 400 and "holds a link to outside the workspace (north)" in message
    assert str(tmp_path) not in message  # which path, not where the server keeps things
    for folder in (".", "", "README.md"):
        code, message = await refused(jp_fetch, run=run["id"], folder=folder)
        assert code == 400 and "folder" in message, message
    for body in ({}, {"run": "../x"}, {"run": run["id"], "folder": 3}):
        code, message = await refused(jp_fetch, **body)
        assert code == 400 and '"' in message, message
    assert list(outside.iterdir()) == [] and not (tmp_path / "escaped").exists()
    assert every_file(jp_root_dir) == before
