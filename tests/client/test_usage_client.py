"""What jobs used, from the client (issue 24): a job's own figures, and the sums per project,
backend or user for administrators, sync and async, against the real job server. The runner
is an HTTP client with the backend's runner token, as a runner is."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io

import pytest

from jupyter_ext import schema
from jupyter_ext.client import AsyncClient, Forbidden

from ..jobserver.harness import leased_job
from .conftest import root

USED = {"cpu_seconds": 1.5, "wall_seconds": 2.0, "peak_memory_bytes": 3_000_000}


def ended(world) -> str:
    job = leased_job(world)
    body = {"state": "succeeded", "usage": {**USED, "bytes_written": 1000}}
    runner = world.client(token=world.runner_token)
    runner.post(f"runner/jobs/{job}/status", json=body).raise_for_status()
    return job


def test_a_jobs_usage_and_the_sums_from_the_client(world, connect):
    job = ended(world)
    dev, admin = connect("dev"), connect("admin")
    mine = dev.jobs.get(job)
    assert mine.usage == schema.JobUsage(**USED, bytes_written=1000)
    assert "(CPU 1.5 s · wall 2.0 s · peak memory 3.0 MB · wrote 1.0 kB)" in repr(mine)
    today = dt.datetime.now(dt.UTC).date()
    (row,) = admin.jobs.usage(group="user", since=today - dt.timedelta(days=1))
    assert (row.name, row.jobs, row.measured, row.cpu_seconds) == ("dev", 1, 1, 1.5)
    assert admin.jobs.usage(group="backend", until=today - dt.timedelta(days=1)) == []
    text = admin.jobs.usage(group="project", format="csv")
    (project,) = csv.DictReader(io.StringIO(text))
    assert (project["name"], project["cpu_seconds"]) == ("sample-study", "1.5")
    with pytest.raises(Forbidden, match="may not see what jobs used"):
        dev.jobs.usage()


def test_the_async_client_reads_the_sums(world):
    ended(world)

    async def read():
        async with AsyncClient(root(world), token=world.tokens["admin"]) as admin:
            return await admin.jobs.usage(group="backend")

    (row,) = asyncio.run(read())
    assert (row.name, row.peak_memory_bytes, row.bytes_written) == ("tpp", 3_000_000, 1000)
