"""When a schedule fires: a cron expression read in a time zone, checked, and its firings.

A schedule says when in the words people use (`0 6 * * 1`: Mondays at six) and where (a
time zone, so that six stays six across summer time). croniter reads the expression; this
module refuses, in one sentence each, what a schedule may not be: an expression it cannot
read, a time zone that does not exist, one that fires more often than the site allows, or
one that never fires. It also says what to do about firings missed while the job server was
down: run the latest once, or skip them, as the schedule says. Pure: the clock is given.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter

ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")
SAMPLES = 50  # firings looked at to find the shortest gap between two
UTC = dt.UTC


class CronError(ValueError):
    """A schedule's time that cannot be, said as what to change."""


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise CronError(
            f"there is no time zone {name!r}: give a name of the IANA time zone database, "
            "e.g. Europe/London or UTC"
        ) from None


@dataclass(frozen=True)
class Cron:
    """A cron expression in a time zone; its firings are instants (UTC)."""

    expression: str
    timezone: str

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        """The first firing strictly after `moment` (an aware time), in UTC."""
        local = moment.astimezone(_zone(self.timezone))
        try:
            fired = croniter(self.expression, local).get_next(dt.datetime)
        except CroniterBadDateError:
            raise CronError(f"{self.expression!r} never fires: no date matches it") from None
        return fired.astimezone(UTC)

    def firings(self, after: dt.datetime, count: int) -> list[dt.datetime]:
        times, moment = [], after
        for _ in range(count):
            moment = self.next_after(moment)
            times.append(moment)
        return times

    def shortest_gap(self, after: dt.datetime) -> dt.timedelta:
        """The shortest time between two of its next firings, as people count it: by the
        clock on the wall or by the clock in UTC, whichever says longer, so that Mondays at
        06:00 stay a week apart across a change to summer time (167 hours in UTC)."""
        zone = _zone(self.timezone)
        times = self.firings(after, SAMPLES)
        walls = [t.astimezone(zone).replace(tzinfo=None) for t in times]
        return min(
            max(b - a, wall_b - wall_a)
            for (a, b), (wall_a, wall_b) in zip(pairwise(times), pairwise(walls), strict=True)
        )


def parse(expression: str, timezone: str, now: dt.datetime, every_at_least: dt.timedelta) -> Cron:
    """The schedule's time, if it can be: five fields (minute, hour, day of the month, month,
    day of the week) or an alias such as @weekly, in a known time zone, firing at all and no
    more often than `every_at_least`."""
    text = " ".join(expression.split())
    _zone(timezone)
    fields = text.split(" ")
    if not (text in ALIASES or len(fields) == 5):
        raise CronError(
            f"{expression!r} is not a cron expression: write five fields (minute, hour, day of "
            "the month, month, day of the week), e.g. '0 6 * * 1' for Mondays at 06:00, or "
            f"one of {', '.join(ALIASES)}"
        )
    try:
        croniter(text)
    except (CroniterBadCronError, CroniterError) as exc:
        raise CronError(f"{expression!r} cannot be read as cron: {exc}") from None
    cron = Cron(text, timezone)
    gap = cron.shortest_gap(now)
    if gap < every_at_least:
        raise CronError(
            f"{expression!r} fires every {_said(gap)} at times; this site allows a schedule to "
            f"fire at most once every {_said(every_at_least)}"
        )
    return cron


@dataclass(frozen=True)
class Due:
    """What a schedule does now: fire (for the firing due at `due`) or not, how many firings
    it missed (and skipped), and when it is due next."""

    fire: bool
    due: dt.datetime | None
    missed: int
    next_due: dt.datetime


def due(
    cron: Cron, next_due: dt.datetime, now: dt.datetime, catch_up: bool, grace: dt.timedelta
) -> Due:
    """Where a schedule stands at `now`, whose next firing was `next_due`.

    A firing is on time until `grace` after it. Later than that it was missed (the job server
    was down): with `catch_up` the latest missed firing runs once now, else it is skipped;
    every other missed firing is skipped, and counted."""
    if now < next_due:
        return Due(False, None, 0, next_due)
    passed, moment = [], next_due
    while moment <= now:  # at most hourly (`parse`): a year down is under 9,000 steps
        passed.append(moment)
        moment = cron.next_after(moment)
    latest = passed[-1]
    on_time = now - latest <= grace
    fire = on_time or catch_up
    missed = len(passed) - (1 if fire else 0)
    return Due(fire, latest if fire else None, missed, moment)


def _said(span: dt.timedelta) -> str:
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}s" if count != 1 else unit
    return f"{seconds} seconds"


DAYS = ("Sundays", "Mondays", "Tuesdays", "Wednesdays", "Thursdays", "Fridays", "Saturdays")
SAID = {"@hourly": "every hour", "@daily": "every day at 00:00", "@midnight": "every day at 00:00"}
SAID |= {"@weekly": "Sundays at 00:00", "@monthly": "on day 1 of each month at 00:00"}
SAID |= {"@yearly": "on 1 January at 00:00", "@annually": "on 1 January at 00:00"}


def in_words(expression: str) -> str:
    """The common shapes said as people say them ('Mondays at 06:00'); any other expression
    as it is written."""
    if expression in SAID:
        return SAID[expression]
    fields = expression.split(" ")
    if len(fields) != 5 or not all(f.isdigit() for f in fields[:2]):
        return expression
    minute, hour, day, month, weekday = fields
    at = f"at {int(hour):02d}:{int(minute):02d}"
    if (day, month, weekday) == ("*", "*", "*"):
        return f"every day {at}"
    if (day, month) == ("*", "*") and weekday.isdigit() and int(weekday) <= 7:
        return f"{DAYS[int(weekday) % 7]} {at}"
    if (day, month) == ("*", "*") and weekday == "1-5":
        return f"weekdays {at}"
    if day.isdigit() and (month, weekday) == ("*", "*"):
        return f"on day {int(day)} of each month {at}"
    return expression
