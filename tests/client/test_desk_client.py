"""`client.releases.queue()`: the checkers' desk from a script or notebook, sync and async."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_ext import schema
from jupyter_ext.client import AsyncClient, Forbidden

from ..jobserver.test_checking_desk import requested, vote
from .conftest import root


@pytest.fixture
def checkers(world):
    for name in ("checker1", "checker2"):
        world.user(name, ["output_checker"])
    return world


def test_a_checker_reads_their_desk(checkers, connect):
    world = checkers
    first, second = requested(world), requested(world, files=2)
    vote(world, "checker1", first, 0, "approve")
    vote(world, "checker1", second, 1, "reject")
    c1, c2 = connect("checker1"), connect("checker2")

    desk = c2.releases.queue()
    assert isinstance(desk, schema.Desk) and desk.checker == "checker2"
    assert [r.id for r in desk.backlog] == [first["id"], second["id"]]
    assert [f.path for f in desk.backlog[1].waiting_for_you] == [
        "output/table0.csv",
        "output/table1.csv",
    ]
    assert desk.backlog[1].held_by == ["checker1"] and desk.history == []
    assert desk.decision_times.files == 0 and desk.decision_times.median_seconds is None

    mine = c1.releases.queue(limit=1, history=1)
    assert [r.id for r in mine.backlog] == [first["id"]] and mine.backlog_total == 2
    assert [v.decision for v in mine.history] == ["reject"]
    older = c1.releases.queue(history=1, before=mine.history_before)
    assert [(v.release, v.decision) for v in older.history] == [(first["id"], "approve")]

    with pytest.raises(Forbidden, match="the checkers' desk is for output checkers"):
        connect("dev").releases.queue()


def test_the_async_client_reads_the_desk_too(checkers):
    world = checkers
    release = requested(world)

    async def main():
        async with AsyncClient(root(world), token=world.tokens["checker1"]) as c1:
            return await c1.releases.queue()

    desk = asyncio.run(main())
    assert [r.id for r in desk.backlog] == [release["id"]]
    assert desk.backlog[0].waiting_for_you[0].state == "requested"
