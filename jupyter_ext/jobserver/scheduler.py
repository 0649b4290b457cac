"""`Scheduler`: the job server's loop that fires due schedules, and the site's rules for them.

Built by the job server with `parent=` its `JobServerApp`, so `c.Scheduler.*` configures it.
Each tick it calls `schedule_firing.fire_due` with the time its `clock` says; several job
server processes on one database each run the loop, and a schedule still fires once.
The clock is injectable (tests set `app.state.scheduler.clock`), so time is driven, never
waited for.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import sessionmaker
from traitlets import Callable, Float, default
from traitlets.config import LoggingConfigurable

from . import orm
from .repos import RepositorySource
from .security import Vault
from .services.schedule_firing import fire_due

log = logging.getLogger("jupyter_ext.jobserver")


class Scheduler(LoggingConfigurable):
    every = Float(
        15.0,
        help="""Seconds between two looks for schedules due. A firing starts at most this long
        after its time (plus the submission's own time). E.g. `c.Scheduler.every = 30`.""",
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

    async def run(self, factory: sessionmaker, repos: RepositorySource, vault: Vault) -> None:
        """Tick at once (what came due while the job server was down), then every `every`."""
        while True:
            try:
                await run_in_threadpool(self.tick, factory, repos, vault)
            except Exception:  # keep ticking; the error is logged
                log.exception("firing schedules failed")
            await asyncio.sleep(self.every)
