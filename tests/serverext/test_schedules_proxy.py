"""Schedules reach the job server through the server extension's `api/` proxy, as the Jobs
panel's Schedules section uses it: made, refused in the job server's sentence with nothing
made, paused, run now, and deleted (a 204 with no body); another's schedule refused in a
sentence the panel can show."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError

BODY = {
    "workspace": "sample",
    "title": "weekly tables",
    "actions": ["generate_dataset"],
    "backends": ["tpp"],
    "cron": "0 6 * * 1",
    "timezone": "Europe/London",
}
SENTENCE_END = "sample-study: ask its coordinator for a role"


@pytest.fixture
def user() -> str:
    """Whose server this is (a test parametrizes it to be someone else's)."""
    return "dev"


@pytest.fixture
def jp_server_config(world, user):
    return {
        "ServerApp": {"jpserver_extensions": {"jupyter_ext.serverext": True}},
        "JupyterExtServer": {
            "jobserver_url": world.base_url.removesuffix("api/v1/"),
            "workspace": "sample",
            "token": world.tokens[user],
        },
    }


async def call(jp_fetch, *path, method="GET", body=None, **kwargs):
    if body is not None:
        kwargs |= {"body": json.dumps(body), "headers": {"Content-Type": "application/json"}}
    elif method == "POST":
        kwargs["body"] = b""
    return await jp_fetch("jupyter-ext", "api", "schedules", *path, method=method, **kwargs)


async def refusal(jp_fetch, *path, **kwargs) -> tuple[int, str]:
    with pytest.raises(HTTPClientError) as refused:
        await call(jp_fetch, *path, **kwargs)
    return refused.value.code, json.loads(refused.value.response.body)["detail"]


async def test_a_schedule_is_made_paused_run_now_and_deleted_through_the_proxy(jp_fetch, world):
    made = json.loads((await call(jp_fetch, method="POST", body=BODY)).body)
    assert made["state"] == "active" and made["when"] == "Mondays at 06:00"
    assert made["next_said"].endswith("06:00 Europe/London")
    listed = await call(jp_fetch, params={"workspace": "sample"})
    assert [s["id"] for s in json.loads(listed.body)["items"]] == [made["id"]]

    paused = json.loads((await call(jp_fetch, made["id"], "pause", method="POST")).body)
    assert paused["state"] == "paused" and paused["next_said"] is None
    fired = await call(jp_fetch, made["id"], "run-now", method="POST")
    assert fired.code == 201
    firing = json.loads(fired.body)
    assert firing["trigger"] == "run_now" and firing["job_request"]
    history = json.loads((await call(jp_fetch, made["id"], "history", params={"limit": 3})).body)
    assert [f["id"] for f in history["items"]] == [firing["id"]]

    deleted = await call(jp_fetch, made["id"], method="DELETE")
    assert deleted.code == 204 and deleted.body == b""
    after = json.loads((await call(jp_fetch, params={"workspace": "sample"})).body)
    assert after["items"] == []


async def test_refusals_come_back_as_the_job_servers_sentences(jp_fetch, world):
    code, detail = await refusal(jp_fetch, method="POST", body={**BODY, "cron": "every monday"})
    assert code == 422 and "is not a cron expression" in detail
    code, detail = await refusal(jp_fetch, method="POST", body={**BODY, "timezone": "Mars/Olympus"})
    assert code == 422 and "there is no time zone 'Mars/Olympus'" in detail
    listed = json.loads((await call(jp_fetch, params={"workspace": "sample"})).body)
    assert listed["items"] == []  # nothing made


@pytest.mark.parametrize("user", ["coord"])
async def test_a_coordinator_pauses_anyones_but_runs_none_now(jp_fetch, world):
    """The panel offers what the job server's rules may allow; its refusal is a sentence."""
    owned = world.client("dev").post("schedules", json=BODY).json()
    paused = json.loads((await call(jp_fetch, owned["id"], "pause", method="POST")).body)
    assert paused["state"] == "paused"
    code, detail = await refusal(jp_fetch, owned["id"], "run-now", method="POST")
    assert (code, detail) == (403, f"coord may not run jobs in the project {SENTENCE_END}")
    code, detail = await refusal(jp_fetch, owned["id"], method="DELETE")
    assert (code, detail) == (403, f"coord may not run jobs in the project {SENTENCE_END}")
