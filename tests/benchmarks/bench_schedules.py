"""From a schedule's due time to its job running: how late does a firing start?

    .venv/bin/python tests/benchmarks/bench_schedules.py [--runs N] [--ticks 1,15]

The job server (a SQLite file, the real app under uvicorn on 127.0.0.1) runs in this
process, so that its scheduler's clock can be set: the clock is the wall clock shifted so
that a schedule's next firing is due a little more than one tick from then (no waiting for
Monday). The scheduler loop looks at least every `c.Scheduler.every` seconds and sleeps
until the soonest schedule is due; it claims the schedule at its time and submits its job
request as its owner; the real `jupyter-ext runner` (local
executor, in a child process, its repository mirror warmed up by one untimed job) leases
the job from its long-poll and runs it. Timed, from the due instant: the job's
`started_at` (when the job server handed it to the runner) and its `completed_at`, both
written by the job server from the same wall clock; median and worst of `--runs` firings at
each tick. The tick no longer adds to the delay (the loop wakes at the due time): what is
left is the claim, the submission and the lease. Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

from bench_jobserver import say  # noqa: E402
from bench_runner import runner, trivial_project  # noqa: E402
from measure import median  # noqa: E402
from traitlets.config import Config  # noqa: E402

from jupyter_ext.jobserver import orm  # noqa: E402

FINAL = ("succeeded", "failed", "cancelled")


class ShiftedClock:
    """The wall clock, moved by `shift`: set so that a given instant is now."""

    def __init__(self) -> None:
        self.shift = dt.timedelta(0)

    def __call__(self) -> dt.datetime:
        return orm.utcnow() + self.shift

    def make_due_in(self, moment: dt.datetime, seconds: float) -> dt.datetime:
        """Shift so that `moment` comes in `seconds`; the wall-clock instant it comes."""
        wall = orm.utcnow() + dt.timedelta(seconds=seconds)
        self.shift = moment - wall
        return wall


def make_repo(path: Path) -> None:
    from tests.jobserver.harness import git

    path.mkdir(parents=True)
    for file, text in trivial_project(1).items():
        (path / file).write_text(text)
    git(path, "init", "-q", "-b", "main")
    git(path, "add", ".")
    git(path, "commit", "-q", "-m", "bench")


def wait_job(server, job_request: str, timeout: float = 120) -> orm.Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with server.factory() as session:
            request = session.get(orm.JobRequest, job_request)
            if request.jobs and request.jobs[0].state in FINAL:
                return request.jobs[0]
        time.sleep(0.02)
    raise RuntimeError(f"the job of {job_request} did not finish")


def wait_fired(server, schedule: str, count: int, timeout: float = 60) -> str:
    """The job request of the schedule's `count`-th firing."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        history = server.client("dev").get(f"schedules/{schedule}/history").json()["items"]
        if len(history) >= count:
            latest = history[0]
            if latest["outcome"] != "fired":
                raise RuntimeError(f"the firing did not submit: {latest['message']}")
            return latest["job_request"]
        time.sleep(0.01)
    raise RuntimeError("the schedule did not fire")


def measure(tick: float, runs: int, workdir: Path) -> tuple[list[float], list[float]]:
    from tests.jobserver.harness import JobServer
    from tests.jobserver.mocking import MockJobServerApp

    repos = workdir / f"repos-{tick}"
    make_repo(repos / "trivial")
    settings = MockJobServerApp(config=Config({"Scheduler": {"every": tick}}))
    server = JobServer(f"sqlite:///{workdir / f'js-{tick}.sqlite'}", repos, settings)
    clock = ShiftedClock()
    server.app.state.scheduler.clock = clock
    token = server.backend("local")
    server.org("uni", ["local"])
    server.user("dev")
    project = server.project("uni", "Schedule bench", {"dev": ["project_developer"]})
    server.workspace(project, "trivial", repos / "trivial")
    server.start()
    running, finished = [], []
    try:
        with runner(server.base_url, "local", token, "local", workdir / f"runner-{tick}", 2):
            dev = server.client("dev")
            warm = {"workspace": "trivial", "backend": "local", "actions": ["hello"]}
            wait_job(server, dev.post("job-requests", json=warm).json()["id"])
            body = {**warm, "backends": ["local"], "cron": "0 * * * *"}
            del body["backend"]
            made = dev.post("schedules", json=body).json()
            for run in range(1, runs + 1):
                due = dt.datetime.fromisoformat(
                    dev.get(f"schedules/{made['id']}").json()["next_firings"][0]
                )
                wall = clock.make_due_in(due, tick + 0.5)  # the loop may be mid-sleep
                job = wait_job(server, wait_fired(server, made["id"], run))
                if job.state != "succeeded":
                    raise RuntimeError(f"the scheduled job {job.identifier} {job.state}")
                running.append((job.started_at - wall).total_seconds())
                finished.append((job.completed_at - wall).total_seconds())
    finally:
        server.close()
    return running, finished


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="firings timed at each tick")
    parser.add_argument("--ticks", default="1,15", help="scheduler ticks to try, in seconds")
    args = parser.parse_args()
    ticks = [float(t) for t in args.ticks.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-schedules-") as tmp:
        for tick in ticks:
            say(f"tick {tick} s: {args.runs} firings ...")
            running, finished = measure(tick, args.runs, Path(tmp))
            rows.append((tick, running, finished))
    print("\nFrom a schedule's due time to its job (one trivial action, local executor):")
    print(
        f"{'tick (s)':>9}  {'to running: median':>19}  {'worst':>7}  {'to succeeded: median':>21}"
    )
    for tick, running, finished in rows:
        print(
            f"{tick:>9.2f}  {median(running) * 1000:>16.0f} ms  {max(running) * 1000:>4.0f} ms"
            f"  {median(finished) * 1000:>18.0f} ms"
        )
    print("15 s is the default tick (c.Scheduler.every); the loop wakes at the due time.")


if __name__ == "__main__":
    main()
