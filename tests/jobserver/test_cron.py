"""A schedule's time: read in its time zone, refused in one sentence when it cannot be, and
what a schedule does about firings missed while the job server was down."""

from __future__ import annotations

import datetime as dt

import pytest

from jupyter_ext.jobserver.cron import Cron, CronError, due, parse

NOW = dt.datetime(2026, 3, 27, 12, 0, tzinfo=dt.UTC)  # a Friday, before summer time
HOURLY = dt.timedelta(hours=1)


def test_a_weekly_schedule_keeps_its_local_hour_across_summer_time():
    cron = parse("0 6 * * 1", "Europe/London", NOW, HOURLY)  # Mondays at 06:00 in London
    first, second = cron.firings(NOW, 2)
    assert first == dt.datetime(2026, 3, 30, 5, 0, tzinfo=dt.UTC)  # 06:00 BST
    assert second == dt.datetime(2026, 4, 6, 5, 0, tzinfo=dt.UTC)
    winter = parse("@weekly", "UTC", NOW, HOURLY).next_after(NOW)
    assert winter == dt.datetime(2026, 3, 29, 0, 0, tzinfo=dt.UTC)  # Sunday midnight


@pytest.mark.parametrize(
    ("expression", "timezone", "said"),
    [
        ("61 * * * *", "UTC", "'61 * * * *' cannot be read as cron"),
        ("0 6 * *", "UTC", "write five fields (minute, hour, day of the month"),
        ("0 0 * * * *", "UTC", "write five fields"),
        ("@fortnightly", "UTC", "or one of @yearly"),
        ("0 6 * * 1", "Europe/Lundon", "there is no time zone 'Europe/Lundon': give a name"),
        ("0 6 * * 1", "../../etc/passwd", "there is no time zone"),
        (
            "*/5 * * * *",
            "UTC",
            "fires every 5 minutes at times; this site allows a schedule "
            "to fire at most once every hour",
        ),
        ("0 0 31 2 *", "UTC", "never fires: no date matches it"),
    ],
)
def test_a_time_that_cannot_be_is_refused_saying_what_to_change(expression, timezone, said):
    with pytest.raises(CronError) as refused:
        parse(expression, timezone, NOW, HOURLY)
    assert said in str(refused.value)


def test_a_stricter_site_refuses_what_another_allows():
    assert parse("0 9,10 * * *", "UTC", NOW, HOURLY).expression == "0 9,10 * * *"  # just hourly
    parse("0 */2 * * *", "UTC", NOW, HOURLY)
    with pytest.raises(CronError) as refused:
        parse("0 */2 * * *", "UTC", NOW, dt.timedelta(days=1))
    assert str(refused.value) == (
        "'0 */2 * * *' fires every 2 hours at times; this site allows a schedule to fire at "
        "most once every day"
    )


def test_a_firing_on_time_runs_and_missed_ones_run_once_or_are_skipped():
    cron = Cron("0 * * * *", "UTC")
    grace = dt.timedelta(minutes=5)
    due_at = dt.datetime(2026, 3, 27, 12, 0, tzinfo=dt.UTC)
    assert due(cron, due_at, due_at - dt.timedelta(seconds=1), True, grace).fire is False
    on_time = due(cron, due_at, due_at + dt.timedelta(seconds=30), False, grace)
    assert (on_time.fire, on_time.due, on_time.missed) == (True, due_at, 0)
    assert on_time.next_due == due_at + dt.timedelta(hours=1)

    back = due_at + dt.timedelta(hours=3, minutes=20)  # down from 11:59 to 15:20
    caught = due(cron, due_at, back, True, grace)
    assert caught.fire and caught.due == dt.datetime(2026, 3, 27, 15, 0, tzinfo=dt.UTC)
    assert caught.missed == 3 and caught.next_due == dt.datetime(2026, 3, 27, 16, tzinfo=dt.UTC)
    skipped = due(cron, due_at, back, False, grace)
    assert (skipped.fire, skipped.due, skipped.missed) == (False, None, 4)
    assert skipped.next_due == caught.next_due
