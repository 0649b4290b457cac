"""What running code as a notebook action costs over running it as a script, on the local executor.

    .venv/bin/python tests/benchmarks/bench_notebooks.py [--runs N]

The same code (count the rows over a threshold, write output/count.csv) runs as
`run: jupyter:v1 count.ipynb` (a parameters cell, the threshold injected, the HTML written)
and as `run: python:v2 count.py`. Two measures, each the median of `--runs` runs after one
untimed run of each, the two kinds interleaved run by run:

1. the executor alone: the local executor running the job's spec (as the runner builds it
   from a lease) in a fresh folder, from start to exit;
2. end to end: the real job server (the test harness's, under uvicorn in this process) and
   a runner (local executor) in a thread, from just before `POST /job-requests` to the job
   request's success, read by polling every 20 ms.

Target: the notebook under 1 s more than the script. Figures are printed, never asserted:
machines are noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

import nbformat  # noqa: E402
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook  # noqa: E402

from jupyter_ext import schema  # noqa: E402
from jupyter_ext.runner.executors import LocalExecutor  # noqa: E402
from jupyter_ext.runner.job_spec import job_spec  # noqa: E402

TARGET = 1.0  # seconds more per notebook
PARAMETERS = "threshold = 10"
CODE = """import os
rows = list(range(1000))
count = sum(r > threshold for r in rows)
os.makedirs("output", exist_ok=True)
open("output/KIND.csv", "w").write(f"threshold,count\\n{threshold},{count}\\n")
print("counted", count)
"""
PROJECT = """version: "5"
actions:
  notebook:
    run: jupyter:v1 count.ipynb
    config: {threshold: 500}
    outputs: {moderately_sensitive: {html: output/count.html, table: output/notebook.csv}}
  script:
    run: python:v2 count.py
    outputs: {moderately_sensitive: {table: output/script.csv}}
"""
RUNS = {"notebook": "jupyter:v1 count.ipynb", "script": "python:v2 count.py"}


def write_project(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "project.yaml").write_text(PROJECT)
    (folder / "count.py").write_text("threshold = 500\n" + CODE.replace("KIND", "script"))
    cells = [
        new_markdown_cell("# Rows over a threshold"),
        new_code_cell(PARAMETERS, metadata={"tags": ["parameters"]}),
        new_code_cell(CODE.replace("KIND", "notebook")),
    ]
    nbformat.write(new_notebook(cells=cells), folder / "count.ipynb")


def lease(kind: str) -> schema.Lease:
    return schema.Lease(
        identifier=f"bench{kind}",
        job_request="r",
        workspace="w",
        action=kind,
        repo="x",
        sha="0" * 40,
        run=RUNS[kind],
        needs=[],
        wait_for=[],
        outputs={},
        parameters={"threshold": 500} if kind == "notebook" else {},
        lease_expires_at=dt.datetime.now(dt.UTC),
    )


def executor_once(tmp: Path, kind: str, run: int) -> float:
    """Seconds for the local executor to run the job, in a fresh copy of the project."""
    folder = tmp / f"{kind}-{run}"
    write_project(folder)
    spec = job_spec(lease(kind), folder, tmp / f"{kind}-{run}-scratch", {})
    lines: list[str] = []
    start = time.perf_counter()
    execution = asyncio.run(LocalExecutor().run(spec, lines.append))
    seconds = time.perf_counter() - start
    if execution.exit_code != 0 or not (folder / "output" / f"{kind}.csv").exists():
        raise SystemExit(f"the {kind} job failed: {execution.message}\n" + "\n".join(lines))
    return seconds


def end_to_end(tmp: Path, runs: int) -> dict[str, list[float]]:
    """Seconds from POST to success, through the real job server and a runner."""
    from tests.jobserver.conftest import build_world
    from tests.jobserver.harness import JobServer, make_repo
    from tests.runner.test_local_runner import RunnerThread

    tmp.mkdir(parents=True, exist_ok=True)
    world = build_world(JobServer(f"sqlite:///{tmp / 'js.sqlite'}", tmp), tmp)
    write_project(tmp / "bench-src")
    make_repo(tmp / "repos" / "bench", tmp / "bench-src")
    world.workspace("sample-study", "bench", tmp / "repos" / "bench")
    dev = world.client("dev")
    times: dict[str, list[float]] = {"notebook": [], "script": []}
    try:
        with RunnerThread(world, tmp / "site"):
            for run in range(runs + 1):  # the first of each untimed
                for kind in times:
                    body = {"workspace": "bench", "backend": "tpp", "actions": [kind]}
                    start = time.perf_counter()
                    request = dev.post("job-requests", json=body).json()
                    while (state := dev.get(f"job-requests/{request['id']}").json())[
                        "state"
                    ] not in ("succeeded", "failed", "cancelled"):
                        time.sleep(0.02)
                    seconds = time.perf_counter() - start
                    if state["state"] != "succeeded":
                        raise SystemExit(f"the {kind} job did not succeed: {state['jobs']}")
                    if run:
                        times[kind].append(seconds)
    finally:
        world.close()
    return times


def row(label: str, times: dict[str, list[float]]) -> None:
    notebook, script = statistics.median(times["notebook"]), statistics.median(times["script"])
    more = notebook - script
    verdict = "within" if more < TARGET else "over"
    print(
        f"{label:34}{script:9.2f}{notebook:11.2f}{more:9.2f}   ({verdict} the {TARGET:g} s target)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each kind")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-notebooks-") as tmp:
        alone: dict[str, list[float]] = {"notebook": [], "script": []}
        for run in range(args.runs + 1):
            for kind in alone:
                seconds = executor_once(Path(tmp), kind, run)
                if run:
                    alone[kind].append(seconds)
        through = end_to_end(Path(tmp) / "e2e", args.runs)
    print(
        f"a notebook action against the same code as a script, local executor, median of "
        f"{args.runs} runs, {os.cpu_count()} CPUs\n"
    )
    print(f"{'seconds':34}{'script':>9}{'notebook':>11}{'more':>9}")
    row("the executor alone", alone)
    row("end to end (job server, runner)", through)


if __name__ == "__main__":
    main()
