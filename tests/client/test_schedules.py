"""`client.schedules` against the real job server: sync and async alike."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest

from jupyter_ext.client import AsyncClient, Conflict, Forbidden, Schedule, ScheduleFiring
from jupyter_ext.client.errors import ClientError, ValidationError

from ..jobserver.test_schedules import FIRST, MONDAY_NOON, WEEK, tick, with_clock
from .conftest import root


@pytest.fixture
def timed(world):
    return with_clock(world, MONDAY_NOON)


def test_a_schedule_made_paused_resumed_run_now_and_deleted(timed, connect):
    dev = connect("dev")
    made = dev.schedules.create(
        "sample",
        actions=["generate_dataset"],
        backend="tpp",
        cron="0 6 * * 1",
        timezone="Europe/London",
        title="weekly data",
    )
    assert isinstance(made, Schedule) and made.backends == ["tpp"]
    assert made.next_firings[0] == FIRST and made.next_said == "Mon 14 Dec 06:00 Europe/London"
    assert "Mondays at 06:00 (Europe/London)" in repr(made)
    assert [s.id for s in dev.schedules.list("sample")] == [made.id]

    assert made.pause() is made and made.state == "paused"  # updated in place
    with pytest.raises(Conflict, match="paused cannot become paused"):
        dev.schedules.pause(made.id)
    with pytest.raises(Forbidden, match="may not pause or resume the schedules of others"):
        connect("collab").schedules.resume(made.id)
    assert made.resume().state == "active"

    tick(timed, FIRST)
    (fired,) = made.history()
    assert (fired.outcome, fired.trigger) == ("fired", "schedule")
    assert dev.job_requests.get(fired.job_request).schedule == made.id  # marked with it
    dev.job_requests.cancel(fired.job_request)  # else running it now would be nothing to do
    ran = made.run_now()
    assert isinstance(ran, ScheduleFiring) and ran.trigger == "run_now"
    assert [f.id for f in made.history()] == [ran.id, fired.id]
    assert ran.job_request != fired.job_request
    assert "run now: fired" in repr(ran)
    assert made.refresh().next_firings[0] == FIRST + WEEK

    assert made.delete() is None
    assert dev.schedules.get(made.id).state == "deleted"
    assert list(dev.schedules.list("sample")) == []
    assert [s.id for s in dev.schedules.list("sample", state="deleted")] == [made.id]


def test_refusals_are_the_servers_sentences(timed, connect):
    dev = connect("dev")
    with pytest.raises(ValidationError, match="fires every 5 minutes"):
        dev.schedules.create("sample", actions=["make_table"], backend="tpp", cron="*/5 * * * *")
    with pytest.raises(ValidationError, match="there is no time zone 'Nowhere/Else'"):
        dev.schedules.create(
            "sample", actions=["make_table"], backend="tpp", cron="@weekly", timezone="Nowhere/Else"
        )
    with pytest.raises(ClientError, match="name a backend, or several"):
        dev.schedules.create("sample", actions=["make_table"], cron="@weekly")
    assert list(dev.schedules.list("sample")) == []


def test_the_async_client_speaks_the_same(timed):
    async def main():
        async with AsyncClient(root(timed), token=timed.tokens["dev"]) as client:
            made = await client.schedules.create(
                "sample",
                actions=["make_table"],
                backends=["tpp"],
                cron="30 7 * * *",
                catch_up="skip",
            )
            assert made.when == "every day at 07:30" and made.catch_up == "skip"
            await made.pause()
            listed = [s.id async for s in client.schedules.list("sample")]
            ran = await made.run_now()
            history = [f.id async for f in made.history()]
            await made.delete()
            return made, listed, ran, history

    made, listed, ran, history = asyncio.run(main())
    assert listed == [made.id] and history == [ran.id]
    assert made.state == "paused"  # as it was when paused: delete answers nothing
    assert ran.due_at is None and ran.fired_at == MONDAY_NOON
    assert isinstance(ran.fired_at, dt.datetime)
