"""What a bounded job folder costs the runner per job (jupyter_ext/runner/quota.py).

    .venv/bin/python tests/benchmarks/bench_quota.py [--jobs N] [--mb MB]

As root each job's folder is its own file system: a sparse ext4 image of the quota's size,
made (truncate, mkfs.ext4) and loop-mounted before the checkout, unmounted and deleted after
the job. It prints p50/p99 of making and of removing one job's folder, with the quota's
default size (10240 MB) unless told, beside a plain folder's (what a runner that is not root
has), and the disk an empty image takes. Without root only the plain folder is measured.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

from measure import nearest_rank  # noqa: E402

from jupyter_ext.runner.quota import JobFolders  # noqa: E402


def measure(folders: JobFolders, jobs: int) -> tuple[list[float], list[float], int]:
    made, removed, allocated = [], [], 0
    for i in range(jobs):
        ident = f"bench{i}"
        start = time.perf_counter()
        folder = folders.make(ident)
        made.append((time.perf_counter() - start) * 1000)
        (folder / "out.csv").write_text("n\n1\n")
        image = folders.image(ident)
        if image.exists():
            allocated = image.stat().st_blocks * 512
        start = time.perf_counter()
        folders.remove(ident)
        removed.append((time.perf_counter() - start) * 1000)
    return made, removed, allocated


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=30, help="job folders made and removed")
    parser.add_argument("--mb", type=int, default=10240, help="the quota, in MB")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-quota-") as tmp:
        rows = []
        kinds = ["hard", "plain"] if os.geteuid() == 0 else ["plain"]
        for kind in kinds:
            folders = JobFolders(Path(tmp) / kind, args.mb)
            folders.hard = kind == "hard"
            made, removed, allocated = measure(folders, args.jobs)
            rows.append((kind, made, removed, allocated))
    print(f"a job's folder, quota {args.mb} MB, {args.jobs} jobs, {os.cpu_count()} CPUs\n")
    print(f"{'':38}{'p50':>8}{'p99':>9}{'mean':>9}")
    for kind, made, removed, allocated in rows:
        what = "own ext4 image, loop-mounted" if kind == "hard" else "plain folder (not root)"
        for phase, values in (("make", made), ("remove", removed)):
            label = f"{what}: {phase} (ms)"
            print(
                f"{label:38}{nearest_rank(values, 0.5):8.1f}{nearest_rank(values, 0.99):9.1f}"
                f"{statistics.mean(values):9.1f}"
            )
        if kind == "hard":
            print(f"{'  disk an image takes, written 4 bytes':38}{allocated / 2**20:8.1f} MB")


if __name__ == "__main__":
    main()
