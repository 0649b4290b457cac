"""Durations on the pages: a unit that fits (ms, s, min, h), never negative; the job request
page says how long each job and the whole request took (sub-second jobs said "0 s" before)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import update

from jupyter_ext.jobserver import orm
from jupyter_ext.jobserver.pages.durations import duration, took

from .test_pages import get
from .test_work_pages import submit


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0 ms"),
        (0.0004, "0 ms"),
        (0.106, "106 ms"),
        (0.9994, "999 ms"),
        (0.9996, "1.0 s"),
        (1, "1.0 s"),
        (12.34, "12.3 s"),
        (59.94, "59.9 s"),
        (59.96, "1 min 00 s"),
        (245, "4 min 05 s"),
        (3599.4, "59 min 59 s"),
        (3599.6, "1 h 00 min"),
        (7380, "2 h 03 min"),
        (200 * 3600, "200 h 00 min"),
    ],
)
def test_a_duration_has_a_unit_that_fits(seconds, shown):
    assert duration(seconds) == shown


@pytest.mark.parametrize("seconds", [-0.106, -5, -7200])
def test_a_duration_is_never_negative(seconds):
    assert duration(seconds) == "0 ms"


def test_an_unknown_duration_says_nothing():
    start = dt.datetime(2026, 1, 1, 10)
    assert took(None, start) == took(start, None) == duration(None) == duration(float("nan")) == ""
    assert took(start, start + dt.timedelta(milliseconds=640)) == "640 ms"
    assert took(start + dt.timedelta(seconds=1), start) == "0 ms"  # an end before its start


def test_the_job_request_page_says_how_long_sub_second_jobs_took(world):
    made = submit(world, "dev", ["generate_dataset"])
    (job,) = made["jobs"]
    start = dt.datetime(2026, 1, 1, 10, 0, 0, tzinfo=dt.UTC)
    with world.factory() as session, session.begin():
        session.execute(
            update(orm.Job)
            .where(orm.Job.identifier == job["identifier"])
            .values(
                state="succeeded",
                started_at=start,
                completed_at=start + dt.timedelta(milliseconds=640),
            )
        )
    page = get(world, "dev", f"/job-requests/{made['id']}")
    assert page.status_code == 200
    cells = re.findall(r"<td>([^<]*)</td></tr>", page.text)
    assert cells == ["640 ms"]  # the job's row
    timings = re.search(r'<dl class="row" id="timings">(.*?)</dl>', page.text, re.S).group(1)
    assert re.search(r"Took</dt><dd[^>]*>640 ms</dd>", timings)
    shown = get(world, "dev", f"/jobs/{job['identifier']}")
    assert re.search(r"Took</dt><dd[^>]*>640 ms</dd>", shown.text)
