"""A project's limits from the client (issue 24): members read its cap and quota on each
backend with what it uses of them, administrators set and lift them; refusals are the
client's errors with the job server's sentence. Against the real job server, sync and async."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_ext import schema
from jupyter_ext.client import AsyncClient, Conflict, Forbidden, NotFound, ValidationError

from .conftest import root


def test_an_administrator_sets_limits_and_members_read_them(world, connect):
    admin, dev = connect("admin"), connect("dev")
    (before,) = dev.projects.limits("sample-study")
    assert (before.backend, before.max_running, before.jobs_per_day) == ("tpp", None, None)
    assert (before.running, before.jobs_last_day, before.updated_at) == (0, 0, None)
    made = admin.projects.set_limits("sample-study", "tpp", max_running=2, jobs_per_day=3)
    assert isinstance(made, schema.ProjectLimit)
    assert (made.project, made.max_running, made.jobs_per_day) == ("sample-study", 2, 3)
    dev.job_requests.create("sample", actions=["derive_measures"], backend="tpp")
    (now,) = dev.projects.limits("sample-study")
    assert (now.max_running, now.jobs_per_day, now.jobs_last_day) == (2, 3, 2)
    with pytest.raises(Conflict) as refused:  # three more would make five of three
        dev.job_requests.create("sample", actions=["report"], backend="tpp", notify=False)
    assert refused.value.detail.startswith(
        "the project sample-study may run 3 jobs a day on tpp; 2 were asked for in the last 24 "
        "hours and this request makes 3: ask for fewer actions, or wait until "
    )
    lifted = admin.projects.set_limits("sample-study", "tpp", max_running=None, jobs_per_day=None)
    assert (lifted.max_running, lifted.jobs_per_day, lifted.updated_at) == (None, None, None)


def test_refusals_come_back_with_the_servers_sentence(world, connect):
    admin, dev = connect("admin"), connect("dev")
    with pytest.raises(Forbidden, match="may not manage backends"):
        dev.projects.set_limits("sample-study", "tpp", max_running=1, jobs_per_day=None)
    with pytest.raises(ValidationError) as bad:
        admin.projects.set_limits("sample-study", "tpp", max_running=-1, jobs_per_day=None)
    assert bad.value.detail.endswith("max_running: Input should be greater than or equal to 0")
    with pytest.raises(NotFound, match="nowhere"):
        admin.projects.set_limits("sample-study", "nowhere", max_running=1, jobs_per_day=None)
    with pytest.raises(NotFound):
        dev.projects.limits("no-such-study")
    with pytest.raises(Forbidden):
        connect("outsider").projects.limits("sample-study")
    assert dev.projects.limits("sample-study")[0].max_running is None  # nothing changed


def test_the_async_client_reads_and_sets_limits(world):
    async def both():
        async with AsyncClient(root(world), token=world.tokens["admin"]) as admin:
            await admin.projects.set_limits("sample-study", "tpp", max_running=1, jobs_per_day=9)
            return await admin.projects.limits("sample-study")

    (found,) = asyncio.run(both())
    assert (found.backend, found.max_running, found.jobs_per_day) == ("tpp", 1, 9)
