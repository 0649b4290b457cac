"""Differencing: a table under review against the tables a project already released.

    .venv/bin/python tests/benchmarks/bench_differencing.py [--released 1000] [--rows 200]
        [--shapes 20] [--reviewed 50]

Builds RELEASED realistic aggregate tables of ROWS rows (region, age band and month as
keys; patients, cases and deaths as counts), spread over SHAPES different column sets as a
project's releases are, and files them in a `ReleasedIndex`. Then checks REVIEWED new
tables, each overlapping every released table of its shape and a few cells of them off by
a small count, as the job server would when a table comes for review.

Printed: the time to build the index (once per project, or kept), the per-file check p50
and p95 in ms against the target of 100 ms, and the same with every released table of one
shape (the worst case: a project releasing the same table month after month).

Then the same through the job server's own step (`release_differencing.review_copy_kept`,
as a review copy's upload calls it): RELEASED tables as released files of one project in a
migrated SQLite database, their bytes in the release folder, and REVIEWED files under
review with their review copies. Printed: the first review (the process files every
released table, reading each from disk), the p50 and p95 of the next ones (the database
asked which released files are new, the review copy read, compared, the result stored), and
the first review after a restart, whose start filed the tables (`release_differencing.warm`).
Figures are printed, never asserted: machines are noisy.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

from measure import median, nearest_rank  # noqa: E402
from release_data import succeeded_job  # noqa: E402
from sqlalchemy import select  # noqa: E402

from jupyter_ext.jobserver import orm  # noqa: E402
from jupyter_ext.jobserver.differencing import ReleasedIndex, Table  # noqa: E402
from jupyter_ext.jobserver.release_differencing import (  # noqa: E402
    ReleasedTables,
    review_copy_kept,
    warm,
)
from jupyter_ext.jobserver.release_store import stored_path  # noqa: E402
from jupyter_ext.jobserver.review_copies import review_path  # noqa: E402
from tests.jobserver.harness import JobServer  # noqa: E402
from tests.jobserver.mocking import MockJobServerApp  # noqa: E402

REGIONS = ["north", "south", "east", "west", "midlands", "london", "wales", "scotland"]
BANDS = ["0-17", "18-39", "40-59", "60-79", "80+"]
COUNTS = ["patients", "cases", "deaths", "admissions", "referrals"]


def make_table(name: str, shape: int, rows: int, rng: random.Random) -> Table:
    """A table of `shape` (which count columns it has) with `rows` rows of keys and counts."""
    counts = [COUNTS[(shape + i) % len(COUNTS)] + f"_{shape}" for i in range(3)]
    columns = ["region", "age_band", "month", *counts]
    body = []
    for number in range(rows):
        region = REGIONS[number % len(REGIONS)]
        band = BANDS[number // len(REGIONS) % len(BANDS)]
        month = f"{2000 + number // 12}-{number % 12 + 1:02d}"
        body.append([region, band, month, *(str(rng.randrange(0, 5000)) for _ in counts)])
    return Table(name, columns, body)


def nudged(table: Table, name: str, rng: random.Random) -> Table:
    """The table with one cell in fifty off by 1 to 5: a total-minus-a-small-group."""
    rows = [
        [
            *row[:3],
            *(str(int(c) - rng.randrange(1, 6)) if rng.random() < 0.02 else c for c in row[3:]),
        ]
        for row in table.rows
    ]
    return Table(name, table.columns, rows)


def measure(released: int, rows: int, shapes: int, reviewed: int) -> None:
    rng = random.Random(23)
    tables = [make_table(f"released/{i}.csv", i % shapes, rows, rng) for i in range(released)]
    started = time.perf_counter()
    index = ReleasedIndex(tables)
    built = time.perf_counter() - started
    times, flagged = [], 0
    for i in range(reviewed):
        table = nudged(tables[i % len(tables)], f"review/{i}.csv", rng)
        started = time.perf_counter()
        overlaps = index.check(table, threshold=7)
        times.append((time.perf_counter() - started) * 1000)
        flagged += sum(len(o.cells) for o in overlaps)
    per_shape = released // shapes
    print(
        f"  {released:,} released tables of {rows} rows in {shapes} shapes (~{per_shape} each): "
        f"index built in {built * 1000:.0f} ms"
    )
    print(
        f"  check per reviewed file: p50 {median(times):.1f} ms, p95 "
        f"{nearest_rank(times, 0.95):.1f} ms (target < 100 ms); {flagged:,} cells flagged "
        f"over {reviewed} files"
    )


def as_csv(table: Table) -> bytes:
    return "".join(",".join(row) + "\n" for row in [table.columns, *table.rows]).encode()


def kept(folder: Path, data: bytes, where) -> str:
    """`data` written where `where` (release_store.stored_path or review_path) keeps it."""
    sha = hashlib.sha256(data).hexdigest()
    target = where(str(folder), sha)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return sha


def seed(server: JobServer, folder: Path, released: list[Table], reviewed: list[Table]):
    """One project: a released release of `released`, uploaded, and one asked-for release of
    `reviewed`, whose review copies have come. The reviewed files' ids."""
    server.backend("tpp")
    server.org("uni", ["tpp"])
    server.user("dev")
    server.project("uni", "Bench study", {"dev": ["project_developer"]})
    server.workspace("bench-study", "bench", Path("/nonexistent"))
    now = orm.utcnow()
    with server.factory() as session:
        dev, workspace, backend, job = succeeded_job(session, "tables")
        done = orm.Release(
            workspace_id=workspace.id,
            backend_id=backend.id,
            created_by_id=dev.id,
            state="released",
            published_at=now,
            published_by_id=dev.id,
            groups={"g": {}},
        )
        asked = orm.Release(
            workspace_id=workspace.id, backend_id=backend.id, created_by_id=dev.id, groups={}
        )
        for release, tables, where, state in (
            (done, released, stored_path, "released"),
            (asked, reviewed, review_path, "requested"),
        ):
            for table in tables:
                data = as_csv(table)
                release.files.append(
                    orm.ReleaseFile(
                        job_id=job.id,
                        group="g",
                        path=table.name,
                        sha256=kept(folder, data, where),
                        size=len(data),
                        state=state,
                        uploaded_at=now if state == "released" else None,
                        review_uploaded_at=None if state == "released" else now,
                    )
                )
            session.add(release)
        session.commit()
        return [f.id for f in asked.files]


def through_the_job_server(released: int, rows: int, shapes: int, reviewed: int) -> None:
    rng = random.Random(23)
    tables = [make_table(f"released/{i}.csv", i % shapes, rows, rng) for i in range(released)]
    pending = [nudged(tables[i % len(tables)], f"review/{i}.csv", rng) for i in range(reviewed)]
    with tempfile.TemporaryDirectory(prefix="bench-differencing-") as tmp:
        folder = Path(tmp) / "releases"
        server = JobServer(f"sqlite:///{Path(tmp) / 'js.sqlite'}", Path(tmp), MockJobServerApp())
        try:
            ids = seed(server, folder, tables, pending)
            cache, times = ReleasedTables(), []
            for file_id in ids:
                started = time.perf_counter()
                with server.factory() as session:
                    review_copy_kept(session, cache, file_id, str(folder))
                times.append((time.perf_counter() - started) * 1000)
            restarted = SimpleNamespace(  # a job server started again: warmed as it starts
                sessionmaker=server.factory, settings=SimpleNamespace(release_dir=str(folder))
            )
            started = time.perf_counter()
            warm(restarted)
            warming = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            with server.factory() as session:
                review_copy_kept(session, restarted.released_tables, ids[0], str(folder))
            warmed_first = (time.perf_counter() - started) * 1000
            with server.factory() as session:
                compared = session.scalars(
                    select(orm.ReleaseFile.differencing).where(orm.ReleaseFile.id.in_(ids))
                ).all()
        finally:
            server.close()
    assert all(c is not None for c in compared), "a reviewed file was not compared"
    print(
        f"  first review (filing {released:,} released tables from disk): {times[0]:.0f} ms; "
        f"each next: p50 {median(times[1:]):.1f} ms, p95 {nearest_rank(times[1:], 0.95):.1f} ms "
        "(ask the database, read, compare, store; target < 100 ms)"
    )
    print(
        f"  after a restart, which files them as it starts ({warming:.0f} ms, beside the "
        f"requests): first review {warmed_first:.1f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--released", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--shapes", type=int, default=20)
    parser.add_argument("--reviewed", type=int, default=50)
    args = parser.parse_args()
    print("differencing: a reviewed table against the project's released tables")
    measure(args.released, args.rows, args.shapes, args.reviewed)
    print("worst case: every released table of the reviewed table's shape")
    measure(args.released, args.rows, 1, max(5, args.reviewed // 10))
    print("through the job server: release_differencing.review_copy_kept, SQLite")
    through_the_job_server(args.released, args.rows, args.shapes, args.reviewed)


if __name__ == "__main__":
    main()
