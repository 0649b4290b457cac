"""The server extension in a real Jupyter server (pytest-jupyter), against the real job server."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

from ..jobserver.harness import git


async def get_json(jp_fetch, *path, **kwargs):
    response = await jp_fetch("jupyter-ext", *path, **kwargs)
    return json.loads(response.body)


async def test_the_workspace_and_a_clean_checkout(jp_fetch, world):
    answer = await get_json(jp_fetch, "workspace")
    assert (
        answer["workspace"]["repo"].endswith("repos/sample") and answer["jobserver_error"] is None
    )
    checkout = answer["checkout"]
    assert checkout["branch"] == "main" and checkout["head"] == world.sha
    assert checkout["warnings"] == [] and checkout["unpushed"] == 0


async def test_uncommitted_and_unpushed_changes_are_warned_about(jp_fetch, jp_root_dir):
    (jp_root_dir / "analysis" / "new.py").write_text("print('new')\n")
    (jp_root_dir / "README.md").write_text("changed\n")
    (jp_root_dir / ".virtual_documents").mkdir()  # JupyterLab's, not the analyst's work
    (jp_root_dir / ".virtual_documents" / "x.py").write_text("")
    # a notebook opened in a folder: its checkpoints are written beside it
    (jp_root_dir / "analysis" / ".ipynb_checkpoints").mkdir()
    (jp_root_dir / "analysis" / ".ipynb_checkpoints" / "x-checkpoint.ipynb").write_text("{}")
    answer = (await get_json(jp_fetch, "workspace"))["checkout"]
    assert answer["uncommitted_count"] == 2
    assert any("2 files with changes not committed" in w for w in answer["warnings"])
    git(jp_root_dir, "add", ".")
    git(jp_root_dir, "commit", "-q", "-m", "more")
    answer = (await get_json(jp_fetch, "workspace"))["checkout"]
    assert answer["unpushed"] == 1 and any("1 commit not pushed" in w for w in answer["warnings"])


async def test_actions_are_read_live_with_their_last_states(jp_fetch, world, jp_root_dir):
    answer = await get_json(jp_fetch, "actions")
    names = [a["name"] for a in answer["actions"]]
    assert names[:2] == ["generate_dataset", "derive_measures"] and answer["problems"] == []
    assert answer["sha"] == world.sha
    assert next(a for a in answer["actions"] if a["name"] == "derive_measures")["needs"] == [
        "generate_dataset"
    ]
    # the file on screen is what is read: an invalid one shows its problems with their lines
    text = (jp_root_dir / "project.yaml").read_text()
    (jp_root_dir / "project.yaml").write_text(
        text.replace("needs: [generate_dataset]", "needs: [generate_datset]")
    )
    answer = await get_json(jp_fetch, "actions")
    problem = answer["problems"][0]
    assert problem["line"] and "generate_datset" in problem["message"]
    assert "generate_dataset" in problem["message"]  # did you mean


async def test_the_proxy_adds_the_token_and_passes_refusals_on(jp_fetch, world):
    me = await get_json(jp_fetch, "api", "me")
    assert me["username"] == "dev"
    body = json.dumps({"workspace": "sample", "backend": "tpp", "actions": ["generate_dataset"]})
    made = await jp_fetch(
        "jupyter-ext",
        "api",
        "job-requests",
        method="POST",
        body=body,
        headers={"Content-Type": "application/json"},
    )
    assert made.code == 201
    request = json.loads(made.body)
    listed = await get_json(jp_fetch, "api", "job-requests", params={"workspace": "sample"})
    assert request["id"] in [r["id"] for r in listed["items"]]
    with pytest.raises(HTTPClientError) as refused:
        await jp_fetch("jupyter-ext", "api", "workspaces", "nope")
    assert refused.value.code == 404
    assert "nope" in json.loads(refused.value.response.body)["detail"]
    with pytest.raises(HTTPClientError) as runner:
        await jp_fetch("jupyter-ext", "api", "runner", "poll", method="POST", body="{}")
    assert runner.value.code == 404


async def test_the_event_stream_comes_through_the_proxy(
    jp_fetch, jp_http_port, jp_base_url, jp_auth_header, world
):
    import httpx

    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}jupyter-ext/api/events"
    async with (
        httpx.AsyncClient(timeout=30) as http,
        http.stream("GET", url, headers=jp_auth_header) as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        body = {"workspace": "sample", "backend": "tpp", "actions": ["generate_dataset"]}
        world.client("dev").post("job-requests", json=body).raise_for_status()
        async for line in stream.aiter_lines():
            if line == "event: job_request":
                break
