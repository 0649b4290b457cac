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
Figures are printed, never asserted: machines are noisy.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

from measure import median, nearest_rank  # noqa: E402

from jupyter_ext.jobserver.differencing import ReleasedIndex, Table  # noqa: E402

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


if __name__ == "__main__":
    main()
