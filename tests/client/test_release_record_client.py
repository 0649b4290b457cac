"""Withdrawing a vote and reading the record of release decisions from the client, sync and
async."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io

import pytest

from jupyter_ext.client import AsyncClient, Conflict, Forbidden

from ..jobserver.test_review import TABLE, finished
from .conftest import root
from .test_review_client import group


@pytest.fixture
def checkers(world):
    for name in ("checker1", "checker2"):
        world.user(name, ["output_checker"])
    world.user("publisher", ["output_publisher"])
    return world


def test_an_approval_withdrawn_and_the_record_read(checkers, connect):
    dev, c1, c2 = (connect(n) for n in ("dev", "checker1", "checker2"))
    job = finished(checkers, {"output/table.csv": TABLE})
    release = dev.releases.create("sample", backend="tpp", groups={"tables": group(job)})
    (file,) = release.files
    c1.releases.review(release, file, "approve", "fine")
    assert c2.releases.review(release, file, "approve").files[0].state == "approved"
    back = c1.releases.withdraw_review(release, file)
    assert back.files[0].state == "in_review"
    with pytest.raises(Conflict, match="no vote of yours to withdraw"):
        c1.releases.withdraw_review(release.id, file.id)

    record = c2.releases.export(project="sample-study", since=dt.date.today())
    (decision,) = record
    assert decision["sha256"] == file.sha256 and decision["state"] == "in_review"
    assert [(v["reviewer"], v["decision"]) for v in decision["votes"]] == [("checker2", "approve")]
    assert [(v["reviewer"], v["comment"]) for v in decision["withdrawn_votes"]] == [
        ("checker1", "fine")
    ]
    text = c2.releases.export(format="csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["reviewer"], r["withdrawn_at"] != "") for r in rows] == [
        ("checker2", False),
        ("checker1", True),
    ]
    with pytest.raises(Forbidden, match="may not read the record of release decisions"):
        dev.releases.export()


def test_the_async_client_withdraws_and_exports(checkers):
    job = finished(checkers, {"output/table.csv": TABLE})
    world = checkers

    async def scenario():
        async with (
            AsyncClient(root(world), token=world.tokens["dev"]) as dev,
            AsyncClient(root(world), token=world.tokens["checker1"]) as c1,
        ):
            release = await dev.releases.create(
                "sample", backend="tpp", groups={"tables": group(job)}
            )
            (file,) = release.files
            await c1.releases.review(release, file, "reject", "no")
            back = await c1.releases.withdraw_review(release, file)
            record = await c1.releases.export(until=dt.date.today().isoformat())
            return back, record

    back, record = asyncio.run(scenario())
    assert back.files[0].state == "requested"
    assert record[0]["votes"] == [] and record[0]["withdrawn_votes"][0]["decision"] == "reject"
