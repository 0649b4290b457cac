"""`Scheduler`: the job server's loop that fires due schedules, and the site's rules for them.

Built by the job server with `parent=` its `JobServerApp`, so `c.Scheduler.*` configures it.
Each tick it calls `schedule_firing.fire_due` with the time its `clock` says, then sleeps
until the soonest active schedule is due (at most `every`, so one made meanwhile is seen);
several job server processes on one database each run the loop, and a schedule still fires
once.
The clock is injectable (tests set `app.state.scheduler.clock`), so time is driven, never
waited for.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker
from traitlets import Callable, Float, default
from traitlets.config import LoggingConfigurable

from ..schema.states import ScheduleState
from . import orm
from .background import in_thread
from .repos import RepositorySource
from .security import Vault
from .services.schedule_firing import BATCH, fire_due

log = logging.getLogger("jupyter_ext.jobserver")


class Scheduler(LoggingConfigurable):
    every = Float(
        15.0,
        help="""Seconds at most between two looks for schedules due: the loop also wakes when
        the soonest schedule it knows is due, so this bounds how late a schedule made (or
        resumed) by another job server process is seen. E.g. `c.Scheduler.every = 30`.""",
    ).tag(config=True)
    min_interval = Float(
        3600.0,
        help="""The shortest time, in seconds, a schedule may leave between two firings: a cron
        expression that fires more often is refused when the schedule is made. The default
        allows at most hourly. E.g. `c.Scheduler.min_interval = 86400` for daily at most.""",
    ).tag(config=True)
    grace = Float(
        300.0,
        help="""Seconds a firing counts as on time. One found later than that (the job server
        was down) was missed: the latest missed one runs once or is skipped, as the schedule's
        catch_up says, and the history counts the missed ones.""",
    ).tag(config=True)
    clock = Callable(help="What time it is (aware UTC): `orm.utcnow`, or a test's own clock.")

    @default("clock")
    def _default_clock(self):
        return orm.utcnow

    def now(self) -> dt.datetime:
        return self.clock()

    @property
    def every_at_least(self) -> dt.timedelta:
        return dt.timedelta(seconds=self.min_interval)

    def tick(self, factory: sessionmaker, repos: RepositorySource, vault: Vault) -> list:
        """Fire what is due now (blocking: call it off the event loop)."""
        return fire_due(factory, repos, vault, self.now(), dt.timedelta(seconds=self.grace))

    def pause(self, factory: sessionmaker) -> float:
        """Seconds until the next look: until the soonest active schedule is due, at most
        `every`; `every` too when one is still due after a tick (its firing failed: it is
        tried again at that pace, not in a tight loop)."""
        with factory() as session:
            soonest = session.scalar(
                select(func.min(orm.Schedule.next_due_at)).where(
                    orm.Schedule.state == ScheduleState.ACTIVE.value
                )
            )
        if soonest is None:
            return self.every
        left = (soonest - self.now()).total_seconds()
        return self.every if left <= 0 else min(self.every, left)

    async def run(self, factory: sessionmaker, repos: RepositorySource, vault: Vault) -> None:
        """Tick at once (what came due while the job server was down), then as schedules
        come due, looking at least every `every`."""
        while True:
            pause = self.every
            try:
                fired = await in_thread(self.tick, factory, repos, vault)
                full = len(fired) >= BATCH  # more may be due: look again at once
                pause = 0.0 if full else await in_thread(self.pause, factory)
            except Exception:  # keep ticking; the error is logged
                log.exception("firing schedules failed")
            await asyncio.sleep(pause)
