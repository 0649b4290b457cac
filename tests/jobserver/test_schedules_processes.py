"""Two real `jupyter ext jobserver` processes on one PostgreSQL, each with its scheduler
ticking every 50 ms, both see the same schedules come due: each schedule fires once."""

from __future__ import annotations

import contextlib
import datetime as dt
import time

from sqlalchemy import func, select

from jupyter_ext.jobserver import orm

from .conftest import build_world
from .harness import JobServer
from .test_jobserver_cli import environment, jobserver, new_key
from .test_schedules import MONDAY_NOON, make, with_clock

SCHEDULES = 5


def firings(world) -> dict[str, int]:
    with world.factory() as session:
        rows = session.execute(
            select(orm.ScheduleFiring.schedule_id, func.count()).group_by(
                orm.ScheduleFiring.schedule_id
            )
        )
        return dict(rows.all())


def test_two_jobserver_processes_on_postgresql_fire_each_schedule_once(postgres_url, tmp_path):
    world = with_clock(build_world(JobServer(postgres_url, tmp_path), tmp_path))
    try:
        made = [make(world, title=f"s{n}", actions=["run_all"]) for n in range(SCHEDULES)]
        world.clock.at = MONDAY_NOON - dt.timedelta(days=30)  # its own loop: nothing due
        options = (
            f"--JobServerApp.local_repo_roots={[str(tmp_path / 'repos')]}",
            "--Scheduler.every=0.05",
        )
        env = environment(crypt_key=new_key())
        with contextlib.ExitStack() as running:
            servers = [
                running.enter_context(jobserver(tmp_path, postgres_url, *options, env=env))
                for _ in range(2)
            ]
            with world.factory() as session:  # due in a moment, by their real clocks
                for schedule in session.scalars(select(orm.Schedule)):
                    schedule.next_due_at = orm.utcnow() + dt.timedelta(seconds=0.5)
                session.commit()
            deadline = time.monotonic() + 60
            while len(firings(world)) < SCHEDULES and time.monotonic() < deadline:
                time.sleep(0.05)
            for _ in range(20):  # both go on ticking: still nothing fires twice
                time.sleep(0.05)
            outputs = [s.output() for s in servers]
        assert firings(world) == {s["id"]: 1 for s in made}, outputs
        with world.factory() as session:
            marked = session.scalar(
                select(func.count())
                .select_from(orm.JobRequest)
                .where(orm.JobRequest.schedule_id.is_not(None))
            )
            outcomes = list(session.scalars(select(orm.ScheduleFiring.outcome)))
        assert marked == outcomes.count("fired") >= 1
        assert set(outcomes) <= {"fired", "nothing_to_do"}, outcomes
        assert not any("Traceback" in text for text in outputs), outputs
    finally:
        world.close()
