"""A job may not flood the site or the job server with outputs (issue 18: 100,000 output files
made the SQLite job server answer 500 "database is locked" for 20 s).

The real job server (SQLite file, under uvicorn) and the real runner, local executor. A job
whose one pattern matches 100,000 files fails in the runner's words, keeps nothing and
reports nothing; a job with 10,000 outputs (the limit) succeeds, its report stored as one
bulk insert in one short transaction. Meanwhile another person reads the job server over and
over from a thread: not one answer is a 5xx. A runner (compromised, or another build) that
reports more than the job server accepts is refused with a sentence, and a report with one
bad path writes nothing. Times are printed, never asserted.
"""

from __future__ import annotations

import threading
import time

from jupyter_ext.runner.policy import LogPolicy
from jupyter_ext.schema.runner import MAX_OUTPUTS

from ..jobserver.harness import leased_job

FLOOD = 100_000
WRITE = """import os
os.makedirs("{folder}", exist_ok=True)
for i in range({count}):
    with open(f"{folder}/{{i:06}}.txt", "w") as f:
        f.write(f"{{i}}\\n")
print("wrote {count} files", flush=True)
"""
PROJECT = {
    "project.yaml": """version: "5"
actions:
  flood:
    run: python:v2 flood.py
    outputs: {highly_sensitive: {files: flood/*.txt}}
  many:
    run: python:v2 many.py
    outputs: {moderately_sensitive: {files: many/*.txt}}
  some:
    run: python:v2 some.py
    outputs: {moderately_sensitive: {files: some/*.txt}}
""",
    "flood.py": WRITE.format(folder="flood", count=FLOOD),
    "many.py": WRITE.format(folder="many", count=MAX_OUTPUTS),
    "some.py": WRITE.format(folder="some", count=20),
}


class Caller(threading.Thread):
    """Another person using the job server meanwhile, as fast as it answers: the statuses of
    every answer (their own profile, and the job requests they may see)."""

    def __init__(self, site) -> None:
        super().__init__(daemon=True)
        self.client = site.world.http(site.world.base_url, "coord")  # a client of its own
        self.statuses: list[int] = []
        self.finished = threading.Event()

    def run(self) -> None:
        while not self.finished.is_set():
            for path in ("me", "job-requests"):
                self.statuses.append(self.client.get(path).status_code)

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.finished.set()
        self.join(60)

    def failures(self) -> list[int]:
        return [status for status in self.statuses if status >= 500]


def timed_reports(runner) -> list[float]:
    """Seconds each outputs report of `runner` took, sent to stored (filled as they go)."""
    took: list[float] = []
    send = runner.api.outputs

    async def outputs(identifier, report):
        start = time.perf_counter()
        await send(identifier, report)
        took.append(time.perf_counter() - start)

    runner.api.outputs = outputs
    return took


def job_folders_removed(site, timeout: float = 300) -> None:
    """Wait (inside the runner) until it has removed its job folders and their disks: a
    folder of a hundred thousand files takes a while, after the job's end was reported."""
    folders = [site.site / "jobs", site.site / "disks"]
    deadline = time.monotonic() + timeout
    while any(f.exists() and any(f.iterdir()) for f in folders) and time.monotonic() < deadline:
        time.sleep(0.2)


def kept_files(site) -> list[str]:
    """What the site holds of outputs: its store and its workspaces' copies."""
    found = []
    for folder in ("store", "workspaces"):
        root = site.site / folder
        found += [str(p) for p in root.rglob("*") if p.is_file()] if root.exists() else []
    return found


def test_a_hundred_thousand_outputs_fail_the_job_and_the_job_server_keeps_answering(site):
    site.repository("flood", PROJECT)
    with site.runner() as runner, Caller(site) as caller:
        took = timed_reports(runner)
        request = site.run("flood", ["flood"], timeout=900)
        job_folders_removed(site)
    (job,) = request["jobs"]
    assert job["state"] == "failed", job
    assert job["status_message"] == (
        "its outputs are 100,000 files, over this backend's limit of 10,000: none is kept"
    )
    assert site.world.client("dev").get(f"jobs/{job['identifier']}/outputs").json() == []
    assert took == []  # nothing was reported
    assert kept_files(site) == []
    assert caller.statuses and caller.failures() == [], caller.failures()[:5]
    print(f"\n{len(caller.statuses)} answers to another caller meanwhile, none a 5xx")


def test_ten_thousand_outputs_are_kept_and_the_job_server_keeps_answering(site):
    site.repository("flood", PROJECT)
    with site.runner() as runner, Caller(site) as caller:
        took = timed_reports(runner)
        request = site.run("flood", ["many"], timeout=900)
        job_folders_removed(site)
    (job,) = request["jobs"]
    assert job["state"] == "succeeded", job
    assert job["status_message"] == f"{MAX_OUTPUTS} outputs"
    outputs = site.world.client("dev").get(f"jobs/{job['identifier']}/outputs").json()
    assert sorted(o["path"] for o in outputs) == [f"many/{i:06}.txt" for i in range(MAX_OUTPUTS)]
    assert caller.statuses and caller.failures() == [], caller.failures()[:5]
    print(
        f"\nthe report of {MAX_OUTPUTS:,} outputs took {took[0]:.2f} s to send and store; "
        f"{len(caller.statuses)} answers to another caller meanwhile, none a 5xx"
    )


def test_a_status_backend_does_not_say_how_many_files_a_job_made(site):
    """How many files matched is the job's choice: a backend that sends no job-chosen text
    says only that the limit (the site's choice) was passed."""
    site.repository("flood", PROJECT)
    with site.runner(log_policy=LogPolicy("status"), max_outputs=10) as runner:
        took = timed_reports(runner)
        request = site.run("flood", ["some"])
    (job,) = request["jobs"]
    assert job["state"] == "failed", job
    assert job["status_message"] == (
        "its outputs are more files than this backend's limit of 10: none is kept"
    )
    assert "20" not in job["status_message"]
    assert took == [] and kept_files(site) == []


def output(i: int, path: str | None = None) -> dict:
    return {
        "path": path or f"out/{i:06}.txt",
        "size": 2,
        "sha256": f"{i:064x}",
        "privacy_level": "highly_sensitive",
    }


def test_the_job_server_refuses_more_outputs_than_it_accepts_and_writes_nothing(site):
    """A runner that is not ours (or is broken) reports straight to the job server."""
    world = site.world
    identifier = leased_job(world)
    runner = world.client(token=world.runner_token)
    url = f"runner/jobs/{identifier}/outputs"
    flood = [output(i) for i in range(MAX_OUTPUTS + 1)]
    refused = runner.post(url, json={"outputs": flood})
    assert refused.status_code == 422, refused.text
    assert "outputs" in refused.json()["detail"] and "10000" in refused.json()["detail"]
    one_bad = [output(i) for i in range(100)] + [output(100, "../../etc/passwd")]
    refused = runner.post(url, json={"outputs": one_bad})
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"] == "output path '../../etc/passwd' is not inside the workspace"
    assert world.client("dev").get(f"jobs/{identifier}/outputs").json() == []
    # a report sent again (a runner that restarted) updates what it names, adds the rest
    assert runner.post(url, json={"outputs": [output(1), output(2)]}).status_code == 204
    again = [{**output(2), "size": 7}, output(3), output(3)]
    assert runner.post(url, json={"outputs": again}).status_code == 204
    kept = world.client("dev").get(f"jobs/{identifier}/outputs").json()
    assert [(o["path"], o["size"]) for o in kept] == [
        ("out/000001.txt", 2),
        ("out/000002.txt", 7),
        ("out/000003.txt", 2),
    ]
