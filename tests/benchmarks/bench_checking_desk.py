"""The checkers' desk (`services/checking_desk.desk`) over a busy site's releases.

    .venv/bin/python tests/benchmarks/bench_checking_desk.py [--releases 5000]
        [--open 0.2] [--audit-per-release 20] [--samples 20] [--db-url URL]

Fills a migrated database (SQLite in a temporary folder, or the empty one `--db-url` names)
with `jobserver_data.fill`'s people, projects and jobs, then RELEASES releases of two files
each over a year, spread over the two sites: a share OPEN still waiting for votes (some with
one vote), the rest decided by two votes, each decision in the audit trail as
`transitions.move` writes it, among AUDIT_PER_RELEASE other audit events per release (views,
comments), so that the trail is as long as a busy site's. Then asks for the desk as a global
output checker and as one site's own checker.

Printed: the p50 and p95 of the desk's time in ms, and the number of statements it sent
(the same whatever the number of releases: no query per release). Figures are printed,
never asserted: machines are noisy.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

import sqlalchemy as sa  # noqa: E402
from jobserver_data import _insert, fill  # noqa: E402
from measure import median, nearest_rank  # noqa: E402
from ulid import ULID  # noqa: E402

from jupyter_ext.jobserver import orm  # noqa: E402
from jupyter_ext.jobserver.callers import Caller  # noqa: E402
from jupyter_ext.jobserver.db import make_engine, make_sessionmaker, upgrade_db  # noqa: E402
from jupyter_ext.jobserver.services import checking_desk  # noqa: E402

YEAR = dt.timedelta(days=365)
OUTCOMES = ("approved", "approved", "approved", "changes_requested", "rejected")


def add_checkers(engine: sa.Engine) -> dict[str, int]:
    """Three global checkers and one of tpp's own: their user ids."""
    _insert(
        engine,
        orm.User.__table__,
        [
            {"username": n, "fullname": n, "email": f"{n}@example.org", "roles": roles}
            for n, roles in (
                ("checker1", ["output_checker"]),
                ("checker2", ["output_checker"]),
                ("checker3", ["output_checker"]),
                ("tppchecker", []),
            )
        ],
        100,
    )
    with engine.begin() as c:
        ids = dict(c.execute(sa.select(orm.User.username, orm.User.id)).all())
        tpp = c.scalar(sa.select(orm.Backend.id).where(orm.Backend.slug == "tpp"))
        c.execute(
            sa.insert(orm.BackendMember.__table__),
            [{"backend_id": tpp, "user_id": ids["tppchecker"], "roles": ["output_checker"]}],
        )
    return ids


def add_releases(engine: sa.Engine, releases: int, open_share: float, audit: int, rng) -> None:
    now = orm.utcnow()
    ids = add_checkers(engine)
    checkers = [ids["checker1"], ids["checker2"], ids["checker3"]]
    with engine.connect() as c:
        jobs = c.execute(sa.select(orm.Job.id, orm.Job.workspace_id, orm.Job.backend_id)).all()
        authors = [i for n, i in ids.items() if n.startswith("user") or n == "dev"]
    release_rows, file_rows, review_rows, audit_rows = [], [], [], []
    for n in range(releases):
        job_id, workspace_id, backend_id = rng.choice(jobs)
        asked = now - YEAR * (1 - n / releases) + dt.timedelta(minutes=rng.randrange(60))
        rid = str(ULID())
        is_open = rng.random() < open_share
        release_rows.append(
            {
                "id": rid,
                "workspace_id": workspace_id,
                "backend_id": backend_id,
                "state": "requested",
                "groups": {"g": {"context": "c", "disclosure_control": "d"}},
                "created_by_id": rng.choice(authors),
                "created_at": asked,
            }
        )
        for k in range(2):
            fid = str(ULID())
            voters = rng.sample(checkers, 2)
            state = rng.choice(("requested", "in_review")) if is_open else rng.choice(OUTCOMES)
            decided = asked + dt.timedelta(hours=rng.uniform(1, 96))
            file_rows.append(
                {
                    "id": fid,
                    "release_id": rid,
                    "job_id": job_id,
                    "group": "g",
                    "path": f"output/table{k}.csv",
                    "sha256": "0" * 64,
                    "size": 100,
                    "state": state,
                    "version": 1,
                }
            )
            cast = voters[:1] if state == "in_review" else [] if state == "requested" else voters
            for who in cast:
                review_rows.append(
                    {
                        "release_file_id": fid,
                        "reviewer_id": who,
                        "decision": "approve",
                        "comment": "",
                        "created_at": decided,
                    }
                )
            if state in OUTCOMES:
                audit_rows.append(
                    {
                        "actor": "checker1",
                        "action": f"release_file.{state}",
                        "target_type": "release_file",
                        "target_id": fid,
                        "before": {"state": "in_review"},
                        "after": {"state": state},
                        "created_at": decided,
                    }
                )
        for _ in range(audit):
            audit_rows.append(
                {
                    "actor": "checker2",
                    "action": "release.view",
                    "target_type": "release",
                    "target_id": rid,
                    "before": None,
                    "after": None,
                    "created_at": asked,
                }
            )
    _insert(engine, orm.Release.__table__, release_rows, 2000)
    _insert(engine, orm.ReleaseFile.__table__, file_rows, 2000)
    _insert(engine, orm.Review.__table__, review_rows, 2000)
    audit_rows.sort(key=lambda r: r["created_at"])  # ids in the order of time, as written
    _insert(engine, orm.AuditEvent.__table__, audit_rows, 5000)


def measure(factory, engine, username: str, samples: int) -> tuple[list[float], int, object]:
    times, statements = [], []
    sa.event.listen(engine, "before_cursor_execute", lambda *a: statements.append(1))
    found = None
    for _ in range(samples):
        with factory() as session:
            user = session.scalar(sa.select(orm.User).where(orm.User.username == username))
            caller = Caller(user, session)
            statements.clear()
            start = time.perf_counter()
            found = checking_desk.desk(session, caller, required=2, limit=50, history=20)
            times.append((time.perf_counter() - start) * 1000)
    return times, len(statements), found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=5000)
    parser.add_argument("--open", type=float, default=0.2, dest="open_share")
    parser.add_argument("--audit-per-release", type=int, default=20)
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--db-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.db_url or f"sqlite:///{Path(folder) / 'desk.sqlite'}"
        engine = make_engine(url)
        upgrade_db(engine if url == "sqlite://" else url)
        fill(engine, folder, jobs=2000)
        add_releases(
            engine, args.releases, args.open_share, args.audit_per_release, random.Random(7)
        )
        factory = make_sessionmaker(engine)
        with engine.connect() as c:
            audit = c.scalar(sa.select(sa.func.count()).select_from(orm.AuditEvent))
        print(
            f"{args.releases} releases of 2 files ({args.open_share:.0%} open), "
            f"{audit} audit events, on {engine.dialect.name}"
        )
        for who in ("checker1", "tppchecker"):
            times, statements, found = measure(factory, engine, who, args.samples)
            print(
                f"  desk of {who:<10}: p50 {median(times):6.1f} ms, p95 "
                f"{nearest_rank(times, 0.95):6.1f} ms, {statements} statements; backlog "
                f"{found.backlog_total} (50 shown), {found.decision_times_yours.files} files "
                "decided in 30 days"
            )
        engine.dispose()


if __name__ == "__main__":
    main()
