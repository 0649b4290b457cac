"""Live streams follow access as it changes, against the real job server under uvicorn.

A stream already open keeps no access it has lost: a member removed from a project, a
global role taken away, an API token revoked, a browser signed out. Each test first sees
an event arrive, makes the change, then proves that none of that project's events come:
the next event on the stream is one from a project the caller may still see.
"""

from __future__ import annotations

import json
import re

import httpx

from tests.jobserver.conftest import build_world, db_url, server, world  # noqa: F401
from tests.jobserver.harness import JobServer, make_repo
from tests.jobserver.test_admin_pages import browser_server  # noqa: F401
from tests.jobserver.test_hubauth import hub  # noqa: F401
from tests.jobserver.test_live import EventStream, submit


def other_project(js, tmp_path, members: dict[str, list[str]]) -> None:
    """A second project, where the stream's caller stays, for the event that proves the order."""
    js.project("uni", "Other study", members)
    make_repo(tmp_path / "repos" / "other")
    js.workspace("other-study", "other", tmp_path / "repos" / "other")


def requested(event: dict) -> str:
    assert event["event"] == "job_request", event
    return json.loads(event["data"])["id"]


def test_a_member_removed_from_a_project_gets_none_of_its_events(world, tmp_path):  # noqa: F811
    world.user("dev2")
    world.client("admin").post(
        "projects/sample-study/members", json={"username": "dev2", "roles": ["project_developer"]}
    )
    other_project(world, tmp_path, {"dev": ["project_developer"]})
    with world.client("dev").stream("GET", "events", params={"kind": "job_request"}) as response:
        stream = EventStream(response)
        seen = submit(world, "dev2")
        assert requested(stream.next(1)[0]) == seen["id"]  # a member sees the project's events
        removed = world.client("coord").delete("projects/sample-study/members/dev")
        assert removed.status_code == 204
        hidden = submit(
            world, "dev2", actions=["derive_measures"]
        )  # in the project dev has just left
        marker = submit(world, "dev", workspace="other")
        (event,) = stream.next(1)
        assert requested(event) == marker["id"], f"{hidden['id']} leaked to a removed member"


def test_a_global_role_taken_away_ends_what_it_let_one_see(world, tmp_path):  # noqa: F811
    world.user("checker", ["output_checker"])  # sees every project through the role
    other_project(
        world, tmp_path, {"dev": ["project_developer"], "checker": ["project_collaborator"]}
    )
    with world.client("checker").stream("GET", "events", params={"kind": "job_request"}) as resp:
        stream = EventStream(resp)
        seen = submit(world, "dev")
        assert requested(stream.next(1)[0]) == seen["id"]
        taken = world.client("admin").patch("users/checker", json={"roles": []})
        assert taken.status_code == 200, taken.text
        hidden = submit(
            world, "dev", actions=["derive_measures"]
        )  # sample-study: checker is no member of it
        marker = submit(world, "dev", workspace="other")
        (event,) = stream.next(1)
        assert requested(event) == marker["id"], f"{hidden['id']} leaked after the role went"


def test_a_revoked_token_ends_its_stream(world):  # noqa: F811
    dev = world.client("dev")
    made = dev.post("me/tokens", json={"name": "stream"}).json()
    holder = world.http(world.base_url, token=made["token"])
    with holder.stream("GET", "events", params={"kind": "job_request"}) as response:
        stream = EventStream(response)
        seen = submit(world)
        assert requested(stream.next(1)[0]) == seen["id"]
        assert dev.delete(f"me/tokens/{made['id']}").status_code == 204
        hidden = submit(world, actions=["derive_measures"])
        (event,) = stream.next(1)  # without the rule: the hidden job request
        assert event["event"] == "reconnect", f"{hidden['id']} reached a revoked token: {event}"
        assert "access changed" in event["data"]
        assert stream.next(1) == []  # and the stream has ended
    again = holder.get("events", params={"kind": "job_request"})
    assert again.status_code == 401  # and reconnecting is refused


def test_several_servers_on_postgresql_share_access_changes(postgres_url, tmp_path):
    """The removal is made through one process, the stream is held by another."""
    first = build_world(JobServer(postgres_url, tmp_path), tmp_path)
    second = JobServer(postgres_url, tmp_path)
    second.start()
    try:
        second.tokens = first.tokens
        first.user("dev2")
        first.client("admin").post(
            "projects/sample-study/members",
            json={"username": "dev2", "roles": ["project_developer"]},
        )
        other_project(first, tmp_path, {"dev": ["project_developer"]})
        with second.client("dev").stream("GET", "events", params={"kind": "job_request"}) as r:
            stream = EventStream(r)
            seen = submit(first, "dev2")
            assert requested(stream.next(1)[0]) == seen["id"]
            assert first.client("coord").delete("projects/sample-study/members/dev").status_code
            hidden = submit(first, "dev2", actions=["derive_measures"])
            marker = submit(first, "dev", workspace="other")
            (event,) = stream.next(1)
            assert requested(event) == marker["id"], f"{hidden['id']} leaked across processes"
    finally:
        second.close()
        first.close()


def test_signing_out_of_the_pages_ends_the_browsers_stream(browser_server, tmp_path):  # noqa: F811
    """The browser's stream (its sign-in cookie) ends when that sign-in does."""
    js = build_world(browser_server, tmp_path)
    root = js.base_url.removesuffix("api/v1/")
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        page = browser.get(f"{root}login", params={"next": "/orgs"})
        token = re.search(r'name="_xsrf" value="([0-9a-f]+)"', page.text).group(1)
        events = f"{root}api/v1/events"
        with browser.stream("GET", events, params={"kind": "job_request"}) as response:
            stream = EventStream(response)
            seen = submit(js)
            assert requested(stream.next(1)[0]) == seen["id"]
            out = browser.post(f"{root}logout", data={"_xsrf": token}, follow_redirects=False)
            assert out.status_code == 303
            hidden = submit(js, actions=["derive_measures"])
            (event,) = stream.next(1)
            assert event["event"] == "reconnect", f"{hidden['id']} reached a signed-out browser"
            assert stream.next(1) == []
