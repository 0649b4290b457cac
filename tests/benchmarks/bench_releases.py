"""Releases: the pre-release rules over many tables, and a whole release as one streamed zip.

    .venv/bin/python tests/benchmarks/bench_releases.py [--files 200] [--mb 5]
        [--tables 1000] [--rows 5000] [--released 1000]
        [--only rules|summaries|differencing|zip]

The rules: TABLES realistic aggregate tables of ROWS rows each (region, age band, sex and
month as text; population, cases and deaths as counts, a few of them small; a rate per
1,000) written to a temporary folder, then `check_file` with the default rules over each
in turn, in this process, as the runner does when a job ends. Printed: files/s, the
per-file p50 and p95 in ms, and the typical file: one such table checked 200 times over
(its median), against the target of 10 ms.

The summaries: the same tables (a few hundred of them), each summarised as the runner does
when a job ends (`summarise_table`: read and summarised), in files/s and p50 ms; then the
cost the summary and the rounding rules add to `check_file` at the end of a job: the p50 of
`check_file` over the same tables without the summary, with it (the default rules), and
with rounding rules too (multiples of 5, a suppression marker), and the differences.

The differencing: `bench_differencing.py`'s measurement, a reviewed table against
RELEASED tables of its project (target < 100 ms per file reviewed), printed here too.

The zip: it writes FILES files of MB MiB of CSV-like text straight into a release directory (by
their sha256, as uploads leave them), inserts the rows of two released releases (a quarter
of the files, and all of them: 250 MB and 1 GB by default) into a migrated SQLite database,
serves the real app under uvicorn on 127.0.0.1 in a child process, and downloads
`GET /api/v2/releases/{id}/zip` as a project collaborator, reading and dropping the bytes.

Printed: MB/s of the download, and of `zip -q -0` (stored, as the server's zip is) of the
same files to a pipe, in the same run; and the server process's peak RSS growth (its VmHWM
reset before each download, and psutil sampling every 5 ms) over its RSS just before. The
growth should be flat as the release grows. The files are read from the page cache in both.
Figures are printed, never asserted: machines are noisy.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

import httpx  # noqa: E402
import psutil  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from measure import child_server, median, nearest_rank, serve_app  # noqa: E402
from release_data import succeeded_job  # noqa: E402

from jupyter_ext.jobserver import orm  # noqa: E402
from jupyter_ext.jobserver.app import JobServerApp  # noqa: E402
from jupyter_ext.jobserver.release_store import stored_path  # noqa: E402
from jupyter_ext.schema import (  # noqa: E402
    ReleaseRules,
    RoundingRules,
    check_file,
    summarise_table,
)
from tests.jobserver.harness import JobServer  # noqa: E402
from tests.jobserver.mocking import MockJobServerApp  # noqa: E402

MIB = 1 << 20


# -- the release: files on disk, rows in the database ----------------------------------------


def csv_block(size: int, seed: int = 5) -> bytes:
    """`size` bytes of CSV-like text: ids, regions, counts, rates, dates."""
    rng = random.Random(seed)
    regions = ["north", "south", "east", "west", "midlands", "london"]
    rows = [b"patient_id,region,count,rate,date\n"]
    total = len(rows[0])
    while total < size:
        row = (
            f"{rng.randrange(10**9)},{rng.choice(regions)},{rng.randrange(1000)},"
            f"{rng.random():.6f},20{rng.randrange(10, 25)}-{rng.randrange(1, 13):02d}-"
            f"{rng.randrange(1, 29):02d}\n"
        ).encode()
        rows.append(row)
        total += len(row)
    return b"".join(rows)[:size]


def write_files(release_dir: Path, count: int, size: int) -> list[tuple[str, str, int]]:
    """`count` different files of `size` bytes in the store: (path, sha256, size) each."""
    base = csv_block(size)
    files = []
    for n in range(count):
        # each file its own: a different first line and the rows rotated
        cut = (n * 7919) % len(base)
        data = (f"# file {n}\n".encode() + base[cut:] + base[:cut])[:size]
        sha = hashlib.sha256(data).hexdigest()
        target = stored_path(str(release_dir), sha)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        files.append((f"output/part-{n:03d}.csv", sha, len(data)))
    return files


def seed(server: JobServer, files: list[tuple[str, str, int]], counts: list[int]) -> list[str]:
    """A project, a collaborator, a succeeded job and, for each count, a released release of
    that many of the files, all uploaded. Their ids."""
    server.backend("tpp")
    server.org("uni", ["tpp"])
    server.user("dev")
    server.user("collab")
    server.project(
        "uni", "Bench study", {"dev": ["project_developer"], "collab": ["project_collaborator"]}
    )
    server.workspace("bench-study", "bench", Path("/nonexistent"))
    now = orm.utcnow()
    with server.factory() as session:
        dev, workspace, backend, job = succeeded_job(session, "make_tables")
        ids = []
        for count in counts:
            release = orm.Release(
                workspace_id=workspace.id,
                backend_id=backend.id,
                created_by_id=dev.id,
                state="released",
                published_at=now,
                published_by_id=dev.id,
                groups={"g": {}},
            )
            for path, sha, size in files[:count]:
                release.files.append(
                    orm.ReleaseFile(
                        job_id=job.id,
                        group="g",
                        path=path,
                        sha256=sha,
                        size=size,
                        state="released",
                        uploaded_at=now,
                    )
                )
            session.add(release)
            session.flush()
            ids.append(release.id)
        session.commit()
    return ids


# -- the server, in a child process ----------------------------------------------------------


def _serve(url: str, release_dir: str, key: str, conn: Any) -> None:
    """Child process: the real app on the seeded database, on a free port of 127.0.0.1."""
    from jupyter_ext.jobserver.api import make_app
    from jupyter_ext.jobserver.db import make_engine, make_sessionmaker
    from jupyter_ext.jobserver.repos import LocalGit, Repositories
    from jupyter_ext.jobserver.security import Vault

    engine = make_engine(url)
    app = make_app(
        JobServerApp(release_dir=release_dir),
        make_sessionmaker(engine),
        Vault([key]),
        Repositories(LocalGit(["/"])),
    )
    try:
        serve_app(app, conn)
    finally:
        engine.dispose()


def serving(url: str, release_dir: Path, key: str):
    """Start the server process; yield its root URL and pid; always stop it."""
    return child_server(_serve, (url, str(release_dir), key))


# -- measuring -------------------------------------------------------------------------------


class PeakRss:
    """The process's peak RSS while in the block: its VmHWM (reset on entry, where the kernel
    allows it) and the most psutil saw, sampling every 5 ms."""

    def __init__(self, pid: int) -> None:
        self.pid, self.process = pid, psutil.Process(pid)
        self.sampled = 0
        self.hwm: int | None = None

    def _status(self, field: str) -> int | None:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        return None

    def __enter__(self) -> PeakRss:
        self.before = self.process.memory_info().rss
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")  # resets VmHWM to VmRSS
            self.can_reset = True
        except OSError:
            self.can_reset = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.005):
            self.sampled = max(self.sampled, self.process.memory_info().rss)

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.hwm = self._status("VmHWM") if self.can_reset else None

    @property
    def growth(self) -> int:
        return max(self.hwm or 0, self.sampled) - self.before


def download(root: str, token: str, release_id: str) -> tuple[int, float]:
    """Read the release's zip and drop it: its bytes and the seconds it took."""
    received = 0
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(trust_env=False, timeout=120) as client:
        started = time.perf_counter()
        with client.stream(
            "GET", f"{root}api/v2/releases/{release_id}/zip", headers=headers
        ) as response:
            response.raise_for_status()
            for block in response.iter_raw(MIB):
                received += len(block)
        return received, time.perf_counter() - started


def zip_cli(paths: list[Path]) -> tuple[int, float]:
    """`zip -q -0 - FILES` to a pipe that is read and dropped: its bytes and seconds."""
    started = time.perf_counter()
    zipper = subprocess.Popen(
        ["zip", "-q", "-0", "-", "-@"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )

    def feed() -> None:
        zipper.stdin.write("\n".join(map(str, paths)).encode())
        zipper.stdin.close()

    feeder = threading.Thread(target=feed)
    feeder.start()
    received = 0
    while block := zipper.stdout.read(MIB):
        received += len(block)
    feeder.join()
    if zipper.wait() != 0:
        raise RuntimeError("zip failed")
    return received, time.perf_counter() - started


# -- the pre-release rules over many tables --------------------------------------------------

REGIONS = [
    "North East",
    "North West",
    "Yorkshire and The Humber",
    "East Midlands",
    "West Midlands",
    "East",
    "London",
    "South East",
    "South West",
]
AGE_BANDS = ["0-17", "18-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80+"]
HEADER = "region,age_band,sex,month,population,cases,deaths,rate_per_1000\n"
TYPICAL_RUNS = 200


def aggregate_rows(count: int, seed: int = 11) -> list[str]:
    """Rows of an aggregate table: counts by region, age band, sex and month, and a rate.
    About one row in 60 has a small count (1 to 7), as a table before suppression has."""
    rng = random.Random(seed)
    rows = []
    for _ in range(count):
        population = rng.randrange(800, 40_000)
        cases = rng.randrange(1, 8) if rng.random() < 0.01 else rng.randrange(10, 900)
        deaths = rng.randrange(1, 8) if rng.random() < 0.007 else rng.choice((0, *range(10, 90)))
        rows.append(
            f"{rng.choice(REGIONS)},{rng.choice(AGE_BANDS)},{rng.choice('FM')},"
            f"2024-{rng.randrange(1, 13):02d},{population},{cases},{deaths},"
            f"{1000 * cases / population:.2f}\n"
        )
    return rows


def write_tables(folder: Path, count: int, rows: int) -> list[Path]:
    """`count` different tables of `rows` rows each: windows of one larger pool of rows."""
    pool = aggregate_rows(rows * 8)
    folder.mkdir(parents=True)
    paths = []
    for n in range(count):
        start = (n * 7919) % len(pool)
        window = (pool[start:] + pool[:start])[:rows]
        paths.append(folder / f"table-{n:04d}.csv")
        paths[-1].write_text(HEADER + "".join(window))
    return paths


def time_checks(paths: list[Path], rules: ReleaseRules) -> tuple[list[float], list]:
    """Seconds of `check_file` for each path in turn, and the checks."""
    times, checks = [], []
    for path in paths:
        started = time.perf_counter()
        checks.append(check_file(path, rules, f"output/{path.name}"))
        times.append(time.perf_counter() - started)
    return times, checks


def bench_rules(tables: int, rows: int) -> None:
    rules = ReleaseRules()
    with tempfile.TemporaryDirectory(prefix="bench-rules-") as tmp:
        started = time.perf_counter()
        paths = write_tables(Path(tmp) / "tables", tables, rows)
        size = sum(p.stat().st_size for p in paths)
        seconds = time.perf_counter() - started
        print(
            f"{tables:,} tables of {rows:,} rows ({size / tables / 1e3:,.0f} KB each, "
            f"{size / 1e6:,.0f} MB) written in {seconds:.1f} s"
        )
        time_checks(paths[:20], rules)  # warm: imports, first reads
        started = time.perf_counter()
        times, checks = time_checks(paths, rules)
        total = time.perf_counter() - started
        typical, _ = time_checks([paths[0]] * TYPICAL_RUNS, rules)
        typical_size = paths[0].stat().st_size
    flagged = sum(1 for c in checks if c.findings)
    print(
        f"\n{'rules over tables':>20} {'files/s':>9} {'MB/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
        f"{'max ms':>8}"
    )
    print(
        f"{f'{tables:,} x {rows:,} rows':>20} {tables / total:>9,.0f} {size / total / 1e6:>7.0f} "
        f"{median(times) * 1e3:>8.2f} {nearest_rank(times, 0.95) * 1e3:>8.2f} "
        f"{max(times) * 1e3:>8.2f}"
    )
    verdict = "met" if median(typical) < 0.010 else "NOT met"
    print(
        f"\ntypical file ({rows:,} rows, {typical_size / 1e3:,.0f} KB, "
        f"{len(checks[0].columns)} columns), median of {TYPICAL_RUNS} checks: "
        f"{median(typical) * 1e3:.2f} ms (target < 10 ms: {verdict})"
    )
    print(
        f"{flagged:,} of {tables:,} tables have findings (small counts), as expected of "
        "tables before suppression; files read from the page cache, one core."
    )


# -- table summaries, and what they add to the end of a job ----------------------------------

SUMMARY_TABLES = 300  # at most: the p50 settles well before


def p50_ms(paths: list[Path], run) -> float:
    times = []
    for path in paths:
        started = time.perf_counter()
        run(path)
        times.append(time.perf_counter() - started)
    return median(times) * 1e3


def bench_summaries(tables: int, rows: int) -> None:
    count = min(tables, SUMMARY_TABLES)
    default = ReleaseRules()
    rounding = ReleaseRules(rounding=RoundingRules(multiple_of=5, suppression_marker="[REDACTED]"))
    with tempfile.TemporaryDirectory(prefix="bench-summaries-") as tmp:
        paths = write_tables(Path(tmp) / "tables", count, rows)
        size = sum(p.stat().st_size for p in paths)

        def summarise(path: Path) -> None:
            summarise_table(path.read_text(encoding="utf-8"))

        p50_ms(paths[:20], summarise)  # warm
        cases = [
            ("check_file, no summary", lambda p: check_file(p, default, p.name, summary=False)),
            ("check_file + summary", lambda p: check_file(p, default, p.name)),
            ("+ rounding rules", lambda p: check_file(p, rounding, p.name)),
            ("summarise_table alone", summarise),
        ]
        rounds = []
        for _ in range(3):  # interleaved rounds: a noisy machine shifts them alike
            rounds.append([p50_ms(paths, run) for _, run in cases])
        columns = len(check_file(paths[0], default).columns or [])
    best = [min(round_[n] for round_ in rounds) for n in range(len(cases))]
    print(
        f"\n{f'{count:,} tables of {rows:,} rows':>24} {'p50 ms':>8} {'added ms':>9} {'files/s':>8}"
    )
    for (label, _), ms in zip(cases, best, strict=True):
        added = f"{ms - best[0]:>+9.2f}" if label.startswith(("check", "+")) else f"{'':>9}"
        print(f"{label:>24} {ms:>8.2f} {added} {1e3 / ms:>8,.0f}")
    print(
        f"\nper table of {size / count / 1e3:,.0f} KB, {columns} columns: the best of 3 "
        "interleaved rounds' p50; summarise_table reads the file and the table too. The "
        "added ms is what the summary (and the rounding rules) add to the end of a job, per "
        "table. One core, files from the page cache."
    )


def bench_differencing(released: int) -> None:
    """bench_differencing.py's measurement, in process: a reviewed table against `released`
    tables of its project, alone and through the job server's step."""
    import bench_differencing

    print("\ndifferencing: a reviewed table against the project's released tables")
    bench_differencing.measure(released, 200, 20, 50)
    print("worst case: every released table of the reviewed table's shape")
    bench_differencing.measure(released, 200, 1, 5)
    print("through the job server: release_differencing.review_copy_kept, SQLite")
    bench_differencing.through_the_job_server(released, 200, 20, 50)


# -- the whole thing --------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200, help="files in the big release")
    parser.add_argument("--mb", type=int, default=5, help="MiB in each file")
    parser.add_argument("--tables", type=int, default=1000, help="tables the rules check")
    parser.add_argument("--rows", type=int, default=5000, help="rows in each table")
    parser.add_argument("--released", type=int, default=1000, help="tables released before")
    parser.add_argument(
        "--only", choices=["rules", "summaries", "differencing", "zip"], help="run one benchmark"
    )
    args = parser.parse_args()
    if args.only in (None, "rules"):
        bench_rules(args.tables, args.rows)
    if args.only in (None, "summaries"):
        bench_summaries(args.tables, args.rows)
    if args.only in (None, "differencing"):
        bench_differencing(args.released)
    if args.only in (None, "zip"):
        if args.only is None:
            print()
        bench_zip(args)


def bench_zip(args: argparse.Namespace) -> None:
    if shutil.which("zip") is None:
        sys.exit("no zip: apt-get install zip (.ci/install-system.sh)")
    small = max(1, args.files // 4)
    with tempfile.TemporaryDirectory(prefix="bench-releases-") as tmp:
        folder = Path(tmp)
        release_dir = folder / "releases"
        started = time.perf_counter()
        files = write_files(release_dir, args.files, args.mb * MIB)
        total = sum(size for _, _, size in files)
        print(
            f"{args.files} files of {args.mb} MiB of CSV text written "
            f"({total / 1e6:,.0f} MB) in {time.perf_counter() - started:.1f} s"
        )
        url = f"sqlite:///{folder / 'js.sqlite'}"
        server = JobServer(url, folder, MockJobServerApp(release_dir=str(release_dir)))
        releases = seed(server, files, [small, args.files])
        token = server.tokens["collab"]
        server.engine.dispose()
        rows = []
        with serving(url, release_dir, Fernet.generate_key().decode()) as (root, pid):
            download(root, token, releases[0])  # warm: imports, first connection, page cache
            for release_id, count in zip(releases, (small, args.files), strict=True):
                size = sum(s for _, _, s in files[:count])
                with PeakRss(pid) as rss:
                    received, seconds = download(root, token, release_id)
                paths = [stored_path(str(release_dir), sha) for _, sha, _ in files[:count]]
                zipped, zip_seconds = zip_cli(paths)
                rows.append((count, size, received, seconds, zipped, zip_seconds, rss))
    print()
    print(
        f"{'release':>20} {'zip bytes':>14} {'server MB/s':>12} {'zip -0 MB/s':>12} "
        f"{'ratio':>6} {'server RSS before':>18} {'peak growth':>12}"
    )
    for count, size, received, seconds, zipped, zip_seconds, rss in rows:
        label = f"{count} files, {size / 1e6:,.0f} MB"
        server_rate, zip_rate = received / seconds / 1e6, zipped / zip_seconds / 1e6
        print(
            f"{label:>20} {received:>14,} {server_rate:>12.0f} {zip_rate:>12.0f} "
            f"{server_rate / zip_rate:>6.2f} {rss.before / MIB:>15.1f} MiB "
            f"{rss.growth / MIB:>8.1f} MiB"
        )
    note = "VmHWM reset and read" if rows[-1][-1].hwm is not None else "psutil samples only"
    print(f"\npeak RSS growth: the most over the RSS just before each download ({note}).")
    print(
        "zip -q -0 writes to a pipe read by this process; the server's zip goes over "
        "loopback HTTP to httpx in this process."
    )


if __name__ == "__main__":
    main()
