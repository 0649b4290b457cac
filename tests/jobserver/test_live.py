"""Long-polls and live events against the job server under uvicorn on 127.0.0.1."""

from __future__ import annotations

import json
import threading

import httpx

from .harness import make_repo


class EventStream:
    """Reads a Server-Sent Events response event by event (pings skipped)."""

    def __init__(self, response: httpx.Response) -> None:
        self.headers = response.headers
        self.lines = response.iter_lines()

    def next(self, count: int) -> list[dict]:
        events, current = [], {}
        for line in self.lines:
            if not line:
                if "event" in current:
                    events.append(current)
                    if len(events) == count:
                        return events
                current = {}
                continue
            field, _, value = line.partition(":")
            if field in ("id", "event", "data"):
                current[field] = value.strip()
        return events


def submit(world, user="dev", actions=("generate_dataset",), workspace="sample"):
    response = world.client(user).post(
        "job-requests", json={"workspace": workspace, "backend": "tpp", "actions": list(actions)}
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_held_poll_is_answered_when_work_arrives_not_at_its_deadline(world):
    runner = world.http(world.base_url, token=world.runner_token)
    result = {}

    def poll():
        result["leases"] = runner.post("runner/poll", json={"wait": 60}, timeout=90).json()

    thread = threading.Thread(target=poll)
    thread.start()
    thread.join(0.5)
    assert thread.is_alive(), "the poll should be held open while there is no work"
    request = submit(world)
    thread.join(30)  # far less than the 60 s it would otherwise wait
    assert not thread.is_alive()
    assert [lease["job_request"] for lease in result["leases"]] == [request["id"]]


def test_events_stream_live_and_resume_with_last_event_id(world):
    dev = world.client("dev")
    runner = world.client(token=world.runner_token)
    with dev.stream("GET", "events", params={"workspace": "sample"}) as response:
        stream = EventStream(response)
        assert stream.headers["content-type"].startswith("text/event-stream")
        request = submit(world)
        first = stream.next(2)
        assert [e["event"] for e in first] == ["job_request", "job"]
        assert json.loads(first[1]["data"])["state"] == "pending"
        (lease,) = runner.post("runner/poll", json={"wait": 0}).json()
        runner.post(
            f"runner/jobs/{lease['identifier']}/logs", json={"first_seq": 0, "lines": ["hello"]}
        )
        running, log = stream.next(2)
        assert json.loads(running["data"])["state"] == "running"
        assert json.loads(log["data"]) == {"job": lease["identifier"], "lines": [[0, "hello"]]}
        last_seen = log["id"]
    # while nobody listens, the job ends
    runner.post(f"runner/jobs/{lease['identifier']}/status", json={"state": "succeeded"})
    with dev.stream("GET", "events", headers={"Last-Event-ID": last_seen}) as response:
        (missed,) = EventStream(response).next(1)
        assert int(missed["id"]) > int(last_seen)
        assert json.loads(missed["data"])["state"] == "succeeded"
    assert request["id"] == json.loads(missed["data"])["job_request"]


def test_events_only_of_projects_one_may_see(world, tmp_path):
    world.project("uni", "Other study", {"outsider": ["project_developer"]})
    make_repo(tmp_path / "repos" / "other")
    world.workspace("other-study", "other", tmp_path / "repos" / "other")
    outsider = world.client("outsider")
    with outsider.stream("GET", "events", params={"kind": "job_request"}) as response:
        submit(world, "dev")  # in a project the outsider is not part of
        mine = submit(world, "outsider", workspace="other")
        (event,) = EventStream(response).next(1)
        assert json.loads(event["data"])["id"] == mine["id"]


def test_unfinished_lease_fails_or_requeues_when_its_runner_vanishes(world):
    import datetime as dt

    from jupyter_ext.jobserver import orm
    from jupyter_ext.jobserver.services.leasing import expire_leases

    runner = world.client(token=world.runner_token)
    submit(world)
    (lease,) = runner.post("runner/poll", json={"wait": 0}).json()
    with world.factory() as session:
        job = session.query(orm.Job).filter_by(identifier=lease["identifier"]).one()
        job.lease_expires_at = orm.utcnow() - dt.timedelta(seconds=1)
        session.commit()
    assert expire_leases(world.factory, requeue=True) == 1
    job = world.client("dev").get(f"jobs/{lease['identifier']}").json()
    assert job["state"] == "pending" and "queued again" in job["status_message"]
    (again,) = runner.post("runner/poll", json={"wait": 0}).json()
    assert again["identifier"] == lease["identifier"]
    with world.factory() as session:
        job = session.query(orm.Job).filter_by(identifier=lease["identifier"]).one()
        job.lease_expires_at = orm.utcnow() - dt.timedelta(seconds=1)
        session.commit()
    assert expire_leases(world.factory, requeue=False) == 1
    job = world.client("dev").get(f"jobs/{lease['identifier']}").json()
    assert job["state"] == "failed" and "runner stopped reporting" in job["status_message"]


def test_several_job_servers_on_one_postgresql_share_events_and_wake_runners(
    postgres_url, tmp_path
):
    """Users who outgrow one process run several: NOTIFY carries events between them."""
    from .conftest import build_world
    from .harness import JobServer

    first = build_world(JobServer(postgres_url, tmp_path), tmp_path)
    second = JobServer(postgres_url, tmp_path)
    second.start()
    try:
        runner = second.http(second.base_url, token=first.runner_token)
        result = {}

        def poll():
            result["leases"] = runner.post("runner/poll", json={"wait": 60}, timeout=90).json()

        thread = threading.Thread(target=poll)
        thread.start()
        dev_on_second = second.http(second.base_url, token=first.tokens["dev"])
        with dev_on_second.stream("GET", "events", params={"kind": "job_request"}) as response:
            request = submit(first)  # submitted to the first process
            (event,) = EventStream(response).next(1)
            assert json.loads(event["data"])["id"] == request["id"]
        thread.join(30)
        assert not thread.is_alive()
        assert [lease["job_request"] for lease in result["leases"]] == [request["id"]]
    finally:
        second.close()
        first.close()


def test_a_burst_of_a_hundred_subscribers_all_connect(world):
    """Each request gives its database connection back between dependencies: a burst
    larger than the connection pool must not starve the thread pool (and so hang)."""
    import asyncio

    async def burst() -> int:
        limits = httpx.Limits(max_connections=None, max_keepalive_connections=None)
        timeout = httpx.Timeout(20, read=None)
        connected = 0
        async with httpx.AsyncClient(base_url=world.base_url, limits=limits, timeout=timeout) as c:

            async def subscribe(user: str) -> None:
                nonlocal connected
                headers = {"Authorization": f"Bearer {world.tokens[user]}"}
                async with c.stream("GET", "events", headers=headers) as response:
                    assert response.status_code == 200
                    connected += 1

            await asyncio.gather(*(subscribe(u) for u in ["admin", "dev", "collab", "coord"] * 25))
        return connected

    assert asyncio.run(burst()) == 100


def test_work_that_comes_between_a_runners_look_and_its_sleep_wakes_it():
    """A poll looks for work, finds none, then sleeps until woken: a job that became
    runnable in between (another request's commit) must not leave it asleep for the whole
    long-poll. Seen at 4 sites on 2 CPUs: a report waited 25 s for a wake that was lost."""
    import asyncio

    from jupyter_ext.jobserver.events import EventBus

    async def main():
        bus = EventBus()
        mark = bus.work_mark(7)  # the poll reads it, then looks: no work yet
        bus._deliver([], {7})  # a job of backend 7 becomes runnable, before the poll sleeps
        woken = bus.wait_for_work(7, 300, mark)
        try:
            woken.send(None)  # returns at its first step: it never sleeps
        except StopIteration:
            pass
        else:
            raise AssertionError("the poll went to sleep though work had come")
        asleep = bus.wait_for_work(7, 300, bus.work_mark(7))  # nothing since: it sleeps
        task = asyncio.ensure_future(asleep)
        await asyncio.sleep(0)
        assert not task.done()
        bus._deliver([], {7})  # until work comes
        await asyncio.wait_for(task, 300)

    asyncio.run(main())
