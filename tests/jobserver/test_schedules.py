"""Schedules through the real API on a real database: made (or refused, writing nothing),
fired by the job server itself with time driven through its injectable clock (never by
sleeping), paused, resumed, run now and deleted, each audited; and two job server processes
on one PostgreSQL firing a schedule once."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import func, select
from traitlets.config import Config

from jupyter_ext.jobserver import orm
from jupyter_ext.jobserver.db import make_engine, make_sessionmaker
from jupyter_ext.jobserver.services.schedule_firing import fire_due

from ..runner.test_local_runner import RunnerThread, wait_for
from .conftest import build_world
from .harness import JobServer
from .mocking import MockJobServerApp

MONDAY_NOON = dt.datetime(2026, 12, 7, 12, 0, tzinfo=dt.UTC)  # a Monday, GMT in London
FIRST = dt.datetime(2026, 12, 14, 6, 0, tzinfo=dt.UTC)  # the next Monday 06:00 in London
WEEK = dt.timedelta(days=7)
BODY = {
    "workspace": "sample",
    "actions": ["generate_dataset"],
    "backends": ["tpp"],
    "cron": "0 6 * * 1",
    "timezone": "Europe/London",
}


class Clock:
    """The scheduler's time, set by the test."""

    def __init__(self, at: dt.datetime) -> None:
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at


def with_clock(server, at: dt.datetime = MONDAY_NOON):
    server.clock = Clock(at)
    server.app.state.scheduler.clock = server.clock
    return server


@pytest.fixture
def timed(world):
    return with_clock(world)


def tick(world, at: dt.datetime) -> None:
    """What the scheduler loop does at `at` (the loop may tick too: the claim picks one)."""
    world.clock.at = at
    state = world.app.state
    state.scheduler.tick(world.factory, state.repos, state.vault)


def make(world, user: str = "dev", **changes) -> dict:
    response = world.client(user).post("schedules", json={**BODY, **changes})
    assert response.status_code == 201, response.text
    return response.json()


def history(world, schedule: dict, user: str = "dev") -> list[dict]:
    response = world.client(user).get(f"schedules/{schedule['id']}/history")
    assert response.status_code == 200, response.text
    return response.json()["items"]


def audited(world, schedule: dict) -> list[str]:
    with world.factory() as session:
        rows = session.scalars(
            select(orm.AuditEvent.action)
            .where(orm.AuditEvent.target_type == "schedule")
            .where(orm.AuditEvent.target_id == schedule["id"])
            .order_by(orm.AuditEvent.id)
        )
        return list(rows)


def test_a_schedule_shows_when_it_fires_next_in_its_time_zone(timed):
    made = make(timed, title="weekly data")
    assert made["state"] == "active" and made["created_by"] == "dev"
    assert made["when"] == "Mondays at 06:00"
    assert [dt.datetime.fromisoformat(t) for t in made["next_firings"]] == [
        FIRST,
        FIRST + WEEK,
        FIRST + 2 * WEEK,
    ]
    assert made["next_said"] == "Mon 14 Dec 06:00 Europe/London"
    summer = make(timed, timezone="Europe/London", cron="0 6 1 7 *")  # 1 July, BST
    assert summer["next_firings"][0].startswith("2027-07-01T05:00:00")
    assert timed.client("collab").get(f"schedules/{made['id']}").json()["id"] == made["id"]
    listed = timed.client("coord").get("schedules", params={"workspace": "sample"}).json()
    assert [s["id"] for s in listed["items"]] == [summer["id"], made["id"]]
    assert timed.client("outsider").get("schedules").json()["items"] == []
    assert timed.client("outsider").get(f"schedules/{made['id']}").status_code == 403
    assert audited(timed, made) == ["schedule.create"]


def test_bad_schedules_say_what_to_change_and_write_nothing(timed):
    def refused(changes, status, words, user="dev"):
        response = timed.client(user).post("schedules", json={**BODY, **changes})
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert words in response.json()["detail"], response.json()

    refused({"actions": ["generate_datset"]}, 422, "did you mean `generate_dataset`")
    job_request = {"workspace": "sample", "backend": "tpp", "actions": ["generate_datset"]}
    same = timed.client("dev").post("job-requests", json=job_request).json()["detail"]
    response = timed.client("dev").post("schedules", json={**BODY, "actions": ["generate_datset"]})
    assert response.json()["detail"] == same  # the very sentence a job request gets
    refused({"cron": "every monday"}, 422, "is not a cron expression")
    refused({"cron": "0 99 * * *"}, 422, "cannot be read as cron")
    refused({"cron": "*/5 * * * *"}, 422, "fires every 5 minutes at times")
    refused({"cron": "0 6 30 2 *"}, 422, "never fires")
    refused({"timezone": "Mars/Olympus"}, 422, "there is no time zone 'Mars/Olympus'")
    refused({"backends": ["nope"]}, 404, "no backend 'nope'")
    refused({"backends": ["tpp", "tpp"]}, 422, "named twice")
    refused({"backends": []}, 422, "backends")
    refused({"catch_up": "twice"}, 422, "catch_up")
    refused({"workspace": "nope"}, 404, "no workspace 'nope'")
    refused({}, 403, "collab may not run jobs in the project sample-study", user="collab")
    refused({}, 403, "may not run jobs", user="outsider")
    with timed.factory() as session:
        assert session.scalar(select(func.count()).select_from(orm.Schedule)) == 0
        actions = session.scalars(select(orm.AuditEvent.action))
        assert not [a for a in actions if a.startswith("schedule.")]


def test_the_site_sets_how_often_a_schedule_may_fire(timed):
    timed.app.state.scheduler.min_interval = 7 * 86400
    response = timed.client("dev").post("schedules", json={**BODY, "cron": "0 6 * * *"})
    assert response.status_code == 422
    assert "at most once every 7 days" in response.json()["detail"]
    assert make(timed)["cron"] == "0 6 * * 1"


def test_the_loop_wakes_when_the_soonest_schedule_is_due_and_looks_at_least_every_every(timed):
    scheduler = timed.app.state.scheduler
    scheduler.every = 15.0
    assert scheduler.pause(timed.factory) == 15.0  # nothing to fire: look again in `every`
    made = make(timed)
    timed.clock.at = FIRST - dt.timedelta(seconds=4)
    assert scheduler.pause(timed.factory) == 4.0  # sooner than `every`: wake at its time
    timed.clock.at = FIRST - dt.timedelta(hours=1)
    assert scheduler.pause(timed.factory) == 15.0
    timed.clock.at = FIRST + dt.timedelta(seconds=1)  # due, and not fired (as if it failed)
    assert scheduler.pause(timed.factory) == 15.0  # tried again at that pace, not in a loop
    timed.client("dev").post(f"schedules/{made['id']}/pause")
    assert scheduler.pause(timed.factory) == 15.0


def test_a_due_schedule_submits_as_its_owner_at_the_branch_head(timed):
    made = make(timed)
    tick(timed, FIRST - dt.timedelta(seconds=1))
    assert history(timed, made) == []
    tick(timed, FIRST + dt.timedelta(seconds=3))
    (fired,) = history(timed, made)
    assert fired["outcome"] == "fired" and fired["trigger"] == "schedule"
    assert fired["actor"] == "scheduler" and fired["missed"] == 0
    assert dt.datetime.fromisoformat(fired["due_at"]) == FIRST
    request = timed.client("dev").get(f"job-requests/{fired['job_request']}").json()
    assert request["created_by"] == "dev" and request["sha"] == timed.sha
    assert request["actions"] == ["generate_dataset"]
    with timed.factory() as session:
        row = session.get(orm.JobRequest, fired["job_request"])
        assert row.schedule_id == made["id"]
    again = timed.client("dev").get(f"schedules/{made['id']}").json()
    assert dt.datetime.fromisoformat(again["next_firings"][0]) == FIRST + WEEK
    assert again["last_fired_at"] is not None
    tick(timed, FIRST + dt.timedelta(seconds=30))  # nothing more is due
    assert len(history(timed, made)) == 1
    assert audited(timed, made) == ["schedule.create", "schedule.fire"]


def test_a_schedule_at_several_backends_fires_a_study_run(timed):
    timed.backend("north")
    with timed.factory() as session:
        org = session.scalar(select(orm.Org))
        org.backends.append(session.scalar(select(orm.Backend).where(orm.Backend.slug == "north")))
        session.commit()
    made = make(timed, backends=["tpp", "north"])
    tick(timed, FIRST)
    (fired,) = history(timed, made)
    assert fired["outcome"] == "fired" and fired["job_request"] is None
    run = timed.client("dev").get(f"runs/{fired['run']}").json()
    assert sorted(s["backend"] for s in run["sites"]) == ["north", "tpp"]
    with timed.factory() as session:
        marks = session.scalars(
            select(orm.JobRequest.schedule_id).where(orm.JobRequest.study_run_id == run["id"])
        )
        assert list(marks) == [made["id"], made["id"]]


def test_refused_firings_are_history_and_the_schedule_stays(timed):
    made = make(timed)
    pending = {"workspace": "sample", "backend": "tpp", "actions": ["generate_dataset"]}
    assert timed.client("dev").post("job-requests", json=pending).status_code == 201
    tick(timed, FIRST)
    (nothing,) = history(timed, made)
    assert nothing["outcome"] == "nothing_to_do"
    assert "already scheduled to run" in nothing["message"]
    demoted = timed.client("admin").patch(
        "projects/sample-study/members/dev", json={"roles": ["project_collaborator"]}
    )
    assert demoted.status_code == 200, demoted.text
    tick(timed, FIRST + WEEK)
    failed, _ = history(timed, made)
    assert failed["outcome"] == "failed"
    assert failed["message"] == (
        "dev may not run jobs in the project sample-study: ask its coordinator for a role"
    )
    kept = timed.client("coord").get(f"schedules/{made['id']}").json()
    assert kept["state"] == "active"
    assert dt.datetime.fromisoformat(kept["next_firings"][0]) == FIRST + 2 * WEEK


def test_who_may_pause_resume_run_now_and_delete_and_each_is_audited(timed):
    made = make(timed)
    url = f"schedules/{made['id']}"
    dev, coord, collab = (timed.client(u) for u in ("dev", "coord", "collab"))
    assert collab.post(f"{url}/pause").status_code == 403
    paused = coord.post(f"{url}/pause")  # a coordinator pauses anyone's
    assert paused.status_code == 200 and paused.json()["state"] == "paused"
    assert paused.json()["next_firings"] == [] and paused.json()["next_said"] is None
    again = dev.post(f"{url}/pause")
    assert again.status_code == 409
    assert again.json()["detail"].startswith("a schedule that is paused cannot become paused")
    tick(timed, FIRST + 3 * WEEK)  # paused: nothing fires, nothing is caught up
    assert history(timed, made) == []
    timed.clock.at = FIRST + 3 * WEEK + dt.timedelta(hours=1)
    resumed = dev.post(f"{url}/resume").json()  # from the next firing after now
    assert resumed["state"] == "active"
    assert dt.datetime.fromisoformat(resumed["next_firings"][0]) == FIRST + 4 * WEEK
    tick(timed, FIRST + 3 * WEEK + dt.timedelta(hours=2))
    assert history(timed, made) == []  # no burst of what it missed while paused

    assert coord.post(f"{url}/run-now").status_code == 403  # runs as its owner: theirs alone
    ran = dev.post(f"{url}/run-now")
    assert ran.status_code == 201, ran.text
    now = ran.json()
    assert now["trigger"] == "run_now" and now["actor"] == "dev" and now["outcome"] == "fired"
    with timed.factory() as session:
        assert session.get(orm.JobRequest, now["job_request"]).schedule_id == made["id"]
    after = dev.get(url).json()
    assert dt.datetime.fromisoformat(after["next_firings"][0]) == FIRST + 4 * WEEK
    assert dev.post(f"{url}/run-now").status_code == 409  # its job is still pending
    assert len(history(timed, made)) == 1  # a refused run now writes nothing

    assert coord.delete(url).status_code == 403
    assert dev.delete(url).status_code == 204
    assert dev.get(url).json()["state"] == "deleted"
    assert dev.get("schedules").json()["items"] == []
    listed = dev.get("schedules", params={"state": "deleted"}).json()["items"]
    assert [s["id"] for s in listed] == [made["id"]]
    assert coord.post(f"{url}/resume").status_code == 409
    assert dev.post(f"{url}/run-now").status_code == 409
    assert audited(timed, made) == [
        "schedule.create",
        "schedule.pause",
        "schedule.resume",
        "schedule.fire",
        "schedule.delete",
    ]
    with timed.factory() as session:
        pause = session.scalar(
            select(orm.AuditEvent).where(orm.AuditEvent.action == "schedule.pause")
        )
        assert (pause.actor, pause.before, pause.after) == (
            "coord",
            {"state": "active"},
            {"state": "paused"},
        )


def wait_until(probe, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if found := probe():
            return found
        time.sleep(0.05)
    raise AssertionError("the scheduler did not get there in time")


def test_missed_firings_after_a_restart_run_once_or_are_skipped(timed):
    once = make(timed)
    skip = make(timed, catch_up="skip")
    port = timed.stop()  # the job server is down for three weeks
    timed.clock.at = FIRST + 2 * WEEK + dt.timedelta(hours=3)
    timed.start(port)  # the loop ticks as it starts: what came due meanwhile
    fired = wait_until(lambda: history(timed, once))[0]
    skipped = wait_until(lambda: history(timed, skip))[0]
    assert (fired["outcome"], fired["missed"]) == ("fired", 2)
    assert dt.datetime.fromisoformat(fired["due_at"]) == FIRST + 2 * WEEK  # the latest
    assert (
        "2 earlier firings missed while the job server was down were skipped" in (fired["message"])
    )
    assert (skipped["outcome"], skipped["missed"], skipped["job_request"]) == ("skipped", 3, None)
    assert skipped["message"] == (
        "3 firings missed while the job server was down; this schedule skips them"
    )
    for made in (once, skip):
        shown = timed.client("dev").get(f"schedules/{made['id']}").json()
        assert dt.datetime.fromisoformat(shown["next_firings"][0]) == FIRST + 3 * WEEK


def test_the_job_server_fires_a_schedule_with_no_user_server_and_a_runner_runs_it(db_url, tmp_path):
    """The real app's loop, ticking fast, its clock moved to the firing: the runner of the
    backend leases the job the schedule made and runs it."""
    settings = MockJobServerApp(config=Config({"Scheduler": {"every": 0.05}}))
    world = with_clock(build_world(JobServer(db_url, tmp_path, settings), tmp_path))
    try:
        made = make(world)
        with RunnerThread(world, tmp_path / "work"):
            world.clock.at = FIRST + dt.timedelta(seconds=1)
            fired = wait_until(lambda: history(world, made))[0]
            assert fired["outcome"] == "fired", fired
            done = wait_for(world, fired["job_request"])
        assert done["state"] == "succeeded", done
    finally:
        world.close()


def test_processes_racing_on_postgresql_fire_each_schedule_once(postgres_url, tmp_path):
    world = with_clock(build_world(JobServer(postgres_url, tmp_path), tmp_path))
    engines = [make_engine(postgres_url) for _ in range(4)]
    try:
        made = [make(world, title=f"s{n}") for n in range(6)]
        world.clock.at = MONDAY_NOON - WEEK  # the app's own loop sees nothing due
        state = world.app.state
        start = threading.Barrier(len(engines))
        errors: list[BaseException] = []

        def race(engine) -> None:
            try:
                start.wait(10)
                fire_due(
                    make_sessionmaker(engine),
                    state.repos,
                    state.vault,
                    FIRST,
                    dt.timedelta(minutes=5),
                )
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=race, args=(e,)) for e in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert not errors
        outcomes = [h["outcome"] for schedule in made for h in history(world, schedule)]
        assert len(outcomes) == len(made)  # one firing each, whoever claimed it
        assert "fired" in outcomes  # the others may find its job pending: nothing to do
        with world.factory() as session:
            marked = session.scalar(
                select(func.count())
                .select_from(orm.JobRequest)
                .where(orm.JobRequest.schedule_id.is_not(None))
            )
            fires = session.scalar(
                select(func.count())
                .select_from(orm.AuditEvent)
                .where(orm.AuditEvent.action == "schedule.fire")
            )
        assert (marked, fires) == (outcomes.count("fired"), len(made))
    finally:
        for engine in engines:
            engine.dispose()
        world.close()
