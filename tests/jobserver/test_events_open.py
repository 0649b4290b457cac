"""`GET /events` says it is open at once: a comment before any event, so a proxy in front (the
hub's, which sends headers on with the first bytes of the body) does not hold the stream's
headers until the first ping, 15 s later."""

from __future__ import annotations


def test_the_stream_opens_with_a_comment_before_any_event(world):
    with world.client("dev").stream("GET", "events", params={"workspace": "sample"}) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        first = next(response.iter_lines())  # nothing has happened: only the opening is sent
        assert first == ": open"


def test_a_resumed_stream_opens_the_same_way_then_replays(world):
    body = {"workspace": "sample", "backend": "tpp", "actions": ["generate_dataset"]}
    world.client("dev").post("job-requests", json=body).raise_for_status()
    headers = {"Last-Event-ID": "0"}
    with world.client("dev").stream("GET", "events", headers=headers) as response:
        lines = response.iter_lines()
        assert next(lines) == ": open"
        assert next(lines) == ""
        assert next(lines).startswith("id: ")  # then what was missed
