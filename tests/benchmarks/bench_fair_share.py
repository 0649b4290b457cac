"""How long a project that asks second waits behind one that asked for 500 jobs (issue 24).

    .venv/bin/python tests/benchmarks/bench_fair_share.py [--pg] [--jobs 500] [--capacity 4]
        [--job-seconds 0.1] [--rounds 3]

Project alpha asks for 500 jobs that need nothing; once the backend runs 4 of them, project
beta asks for 5. Prints the time beta waits for its first job to be leased (and for all 5),
and how many of alpha's jobs were leased before it, with the lease order before fair share
(`leasing.first_come`) and with it (`leasing.in_turn`), at capacity 4.

Driven through the job server's own services on a migrated database (SQLite in a temporary
file; with --pg a throwaway PostgreSQL cluster too): the jobs are written as a job request
writes them, a simulated runner leases with `leasing.lease_jobs` (its free capacity each
time, as the real poll does), and reports each job succeeded `--job-seconds` after its lease
(`runner_reports.report_status`), polling again as soon as a slot is free (the real runner's
long poll is woken the same way). No executor runs: the figure is the lease order's, not
Docker's. Target: beta's first job leased in under 2 s with fair share. "alpha first": alpha's
jobs leased after beta asked and before beta's first; "one poll": the median time of a
`lease_jobs` call that leased something (one query per page, then one UPDATE per job).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import select  # noqa: E402

from jupyter_ext import schema  # noqa: E402
from jupyter_ext.jobserver import orm  # noqa: E402
from jupyter_ext.jobserver.db import make_engine, make_sessionmaker, upgrade_db  # noqa: E402
from jupyter_ext.jobserver.security import Vault  # noqa: E402
from jupyter_ext.jobserver.services import leasing, runner_reports  # noqa: E402
from jupyter_ext.jobserver.services.job_requests import job_identifier  # noqa: E402

LEASE = dt.timedelta(minutes=10)


def seed(factory) -> None:
    """A backend, an organisation allowed to use it, a user, and two projects of one
    workspace each: alpha and beta."""
    with factory() as session:
        backend = orm.Backend(slug="tpp", name="TPP")
        org = orm.Org(slug="uni", name="Uni")
        org.backends = [backend]
        user = orm.User(username="dev", roles=[])
        session.add_all([backend, org, user])
        session.flush()
        for number, name in enumerate(("alpha", "beta"), start=1):
            project = orm.Project(org_id=org.id, slug=name, name=name, number=number)
            session.add(project)
            session.flush()
            session.add(
                orm.Workspace(
                    name=name,
                    project_id=project.id,
                    repo="https://github.com/example/study",
                    branch="main",
                    created_by_id=user.id,
                )
            )
        session.commit()


def ask(factory, workspace: str, jobs: int) -> None:
    """A job request of `jobs` pending jobs that need nothing, as `write_job_request` writes
    them (without reading a repository)."""
    with factory() as session:
        where = session.scalar(select(orm.Workspace).where(orm.Workspace.name == workspace))
        backend = session.scalar(select(orm.Backend))
        user = session.scalar(select(orm.User))
        actions = [f"task_{n:03d}" for n in range(jobs)]
        request = orm.JobRequest(
            workspace_id=where.id,
            backend_id=backend.id,
            sha="0" * 40,
            actions=actions,
            project_yaml="",
            created_by_id=user.id,
        )
        session.add(request)
        session.flush()
        session.add_all(
            orm.Job(
                identifier=job_identifier(request.id, action),
                job_request_id=request.id,
                workspace_id=where.id,
                backend_id=backend.id,
                created_by_id=user.id,
                action=action,
                run="python:v2 analysis/task.py",
            )
            for action in actions
        )
        session.commit()


def clear(factory) -> None:
    with factory() as session:
        for table in (orm.AuditEvent, orm.Event, orm.Job, orm.JobRequest):
            session.query(table).delete()
        session.commit()


def one_round(factory, vault, order, args) -> tuple[float, float, int, float]:
    """Beta's wait for its first job and for all of them, alpha's jobs leased before its
    first, and the median time of one poll (`lease_jobs`) that leased something."""
    clear(factory)
    ask(factory, "alpha", args.jobs)
    running: dict[str, float] = {}  # identifier -> when its runner reports it done
    asked_at = first = None
    before = 0
    beta: set[str] = set()
    polls: list[float] = []
    with factory() as session:
        backend = session.scalar(select(orm.Backend))
        while True:
            now = time.monotonic()
            for identifier in [i for i, done in running.items() if done <= now]:
                update = schema.StatusUpdate(state="succeeded", exit_code=0)
                runner_reports.report_status(session, backend, identifier, update)
                del running[identifier]
            free = args.capacity - len(running)
            started = time.perf_counter()
            leases = leasing.lease_jobs(session, backend, free, LEASE, vault, order=order)
            if leases:
                polls.append(time.perf_counter() - started)
            now = time.monotonic()
            for lease in leases:
                running[lease.identifier] = now + args.job_seconds
                if asked_at is None:
                    continue
                if lease.workspace == "beta":
                    beta.add(lease.identifier)
                    first = first if first is not None else now - asked_at
                elif first is None:
                    before += 1
            if asked_at is None and len(running) == args.capacity:  # alpha holds the backend
                ask(factory, "beta", 5)
                asked_at = time.monotonic()
            if len(beta) == 5:
                return first, now - asked_at, before, statistics.median(polls)
            if not running:
                raise RuntimeError("nothing runs and beta's jobs were not all leased")
            time.sleep(max(0.0, min(running.values()) - time.monotonic()))


def measure(url: str, label: str, args) -> None:
    upgrade_db(url)
    engine = make_engine(url)
    factory = make_sessionmaker(engine)
    try:
        seed(factory)
        vault = Vault([Fernet.generate_key().decode()])
        figures = {"first come, first served": [], "fair share": []}
        for _ in range(args.rounds):  # interleaved, so a slow spell hits both
            for name, order in (
                ("first come, first served", leasing.first_come),
                ("fair share", leasing.in_turn),
            ):
                figures[name].append(one_round(factory, vault, order, args))
        print(
            f"\n{label}: {args.jobs} jobs of alpha, then 5 of beta; capacity {args.capacity}, "
            f"each job {args.job_seconds * 1000:.0f} ms; median of {args.rounds} rounds"
        )
        print(
            f"  {'order':26} {'beta first':>11} {'beta all 5':>11} {'alpha first':>12}"
            f" {'one poll':>9}"
        )
        for name, rows in figures.items():
            first = statistics.median(r[0] for r in rows)
            every = statistics.median(r[1] for r in rows)
            ahead = statistics.median(r[2] for r in rows)
            poll = statistics.median(r[3] for r in rows) * 1000
            print(f"  {name:26} {first:10.3f}s {every:10.3f}s {ahead:12.0f} {poll:7.1f}ms")
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=500, help="alpha's jobs")
    parser.add_argument("--capacity", type=int, default=4, help="the runner's capacity")
    parser.add_argument("--job-seconds", type=float, default=0.1, help="each job's run time")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--pg", action="store_true", help="PostgreSQL too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        measure(f"sqlite:///{Path(tmp) / 'jobserver.sqlite'}", "SQLite", args)
    if args.pg:
        from tests.parts.postgres import PostgresCluster

        cluster = PostgresCluster()
        try:
            cluster.start()
            measure(cluster.create_database("fair_share_bench"), "PostgreSQL", args)
        finally:
            cluster.stop()


if __name__ == "__main__":
    main()
