"""The Docker executor against this machine's real Docker engine and locally built image."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys

import pytest

from jupyter_ext.runner.executors.base import JobSpec, timed_out
from jupyter_ext.runner.executors.docker import DockerExecutor
from jupyter_ext.schema import JobResources

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer
from .test_local_runner import RunnerThread, wait_for

pytestmark = pytest.mark.usefixtures("docker_images")

PROBE = """
import json, os, socket
checks = {"uid": os.getuid(), "cwd": os.getcwd()}
def tries(name, fn):
    try:
        fn()
        checks[name] = "allowed"
    except OSError as exc:
        checks[name] = type(exc).__name__
tries("write_root", lambda: open("/etc/x", "w"))
tries("write_dataset", lambda: open("/datasets/cohort/new.csv", "w"))
tries("chown", lambda: os.chown("probe.py", 0, 0))
tries("connect", lambda: socket.create_connection(("127.0.0.1", PORT), timeout=2))
checks["dataset"] = open(os.environ["JUPYTER_EXT_DATASETS"] + "/cohort/rows.csv").read()
checks["interfaces"] = sorted(name for _, name in socket.if_nameindex())
open("out.json", "w").write(json.dumps(checks))
print("probed")
"""


def spec(tmp_path, name: str, args: list[str], files: dict[str, str], **extra) -> JobSpec:
    workdir = tmp_path / name
    workdir.mkdir()
    for path, text in files.items():
        (workdir / path).write_text(text)
    scratch = tmp_path / f"{name}-scratch"
    return JobSpec(
        identifier=f"test{name}",
        image="python",
        args=args,
        workdir=workdir,
        env={"LANG": "C.UTF-8"},
        scratch=scratch,
        **extra,
    )


def run(executor, job, lines=None):
    return asyncio.run(executor.run(job, (lines if lines is not None else []).append))


def test_a_job_is_isolated_and_sees_only_what_it_was_given(tmp_path):
    listener = socket.create_server(("127.0.0.1", 0))  # a port on the host it must not reach
    port = listener.getsockname()[1]
    data = tmp_path / "data"
    data.mkdir()
    (data / "rows.csv").write_text("id\n1\n")
    job = spec(
        tmp_path,
        "probe",
        ["probe.py"],
        {"probe.py": PROBE.replace("PORT", str(port))},
        datasets={"cohort": data},
    )
    lines: list[str] = []
    execution = run(DockerExecutor(), job, lines)
    listener.close()
    assert (execution.exit_code, lines) == (0, ["probed"]), execution
    checks = json.loads((job.workdir / "out.json").read_text())
    assert checks["uid"] == 10000 and checks["cwd"] == "/workspace"
    assert checks["write_root"] != "allowed" and checks["write_dataset"] != "allowed"
    assert checks["chown"] == "PermissionError"  # no capabilities
    assert checks["connect"] != "allowed" and checks["interfaces"] == ["lo"]
    assert checks["dataset"] == "id\n1\n"
    assert execution.provenance["image"] == "jupyter-ext/python:bookworm"


def test_exit_codes_unknown_images_and_the_memory_limit_say_what_happened(tmp_path):
    executor = DockerExecutor(memory_mb=64)
    failed = run(executor, spec(tmp_path, "fail", ["f.py"], {"f.py": "raise SystemExit(4)"}))
    assert (failed.exit_code, failed.message) == (4, "exit code 4")
    unknown = spec(tmp_path, "stata", ["a.do"], {})
    unknown.image = "stata-mp"
    assert "not known on this backend" in run(executor, unknown).message
    hog = run(executor, spec(tmp_path, "hog", ["h.py"], {"h.py": "x = bytearray(512 << 20)"}))
    assert hog.exit_code == 137 and "more than 64 MB" in hog.message


def test_a_job_past_its_time_limit_is_stopped(tmp_path):
    job = spec(tmp_path, "slow", ["s.py"], {"s.py": "import time\ntime.sleep(60)"})
    execution = run(DockerExecutor(time_limit=1, grace=0.2), job)
    assert execution.timed_out and "limit of 1 s" in execution.message
    assert not DockerExecutor().docker.containers.list(all=True, filters={"name": job.identifier})


LIMITS = """
import os
def first(*paths):
    for path in paths:
        if os.path.exists(path):
            return open(path).read().split()
if os.path.exists("/sys/fs/cgroup/cpu.max"):  # cgroup v2
    quota, period = first("/sys/fs/cgroup/cpu.max")
else:
    quota = first("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")[0]
    period = first("/sys/fs/cgroup/cpu/cpu.cfs_period_us")[0]
memory = first("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")[0]
print(f"cpus {int(quota) / int(period):g}, memory {int(memory) >> 20} MB")
"""


def test_a_job_gets_the_cpus_and_memory_its_action_asked_for_else_the_defaults(tmp_path):
    executor = DockerExecutor(cpus=1, memory_mb=128, max_cpus=2, max_memory_mb=256)
    asked = spec(
        tmp_path,
        "asked",
        ["l.py"],
        {"l.py": LIMITS},
        resources=JobResources(cpus=0.5, memory_mb=64),
    )
    unasked = spec(tmp_path, "unasked", ["l.py"], {"l.py": LIMITS})
    lines: list[str] = []
    assert run(executor, asked, lines).exit_code == 0, lines
    assert run(executor, unasked, lines).exit_code == 0, lines
    assert lines == ["cpus 0.5, memory 64 MB", "cpus 1, memory 128 MB"]


def test_a_job_past_the_time_limit_its_action_asked_for_is_stopped(tmp_path):
    job = spec(
        tmp_path,
        "asks",
        ["s.py"],
        {"s.py": "import time\ntime.sleep(60)"},
        resources=JobResources(time_limit=2),
    )
    execution = run(DockerExecutor(grace=0.2), job)  # its default: six hours
    assert execution.timed_out and execution.message == timed_out(2)
    assert "limit of 2 s" in execution.message


def test_a_job_asking_more_than_the_maximum_never_starts(tmp_path):
    job = spec(tmp_path, "greedy", ["g.py"], {"g.py": "print(1)"}, resources=JobResources(cpus=3))
    executor = DockerExecutor(max_cpus=2)
    execution = run(executor, job)
    assert execution.exit_code is None
    assert execution.message == (
        "the action asks for more than this backend allows: CPUs 3 (at most 2)"
    )
    assert not executor.docker.containers.list(all=True, filters={"name": job.identifier})


def test_a_cancelled_job_stops_and_says_so(tmp_path):
    job = spec(
        tmp_path,
        "cancel",
        ["s.py"],
        {"s.py": "import time\nprint('up', flush=True)\ntime.sleep(60)"},
    )
    executor = DockerExecutor(grace=0.2)

    async def main():
        started = asyncio.Event()
        running = asyncio.create_task(executor.run(job, lambda line: started.set()))
        await started.wait()
        await executor.cancel(job.identifier)
        return await running

    execution = asyncio.run(main())
    assert execution.cancelled and execution.message == "cancelled"


FIRST_RUNNER = """
import asyncio, sys
from pathlib import Path
from jupyter_ext.runner.executors.base import JobSpec, timed_out
from jupyter_ext.schema import JobResources
from jupyter_ext.runner.executors.docker import DockerExecutor
job = JobSpec(identifier=sys.argv[1], image="python", args=["r.py"], workdir=Path(sys.argv[2]),
              env={}, scratch=Path(sys.argv[3]))
asyncio.run(DockerExecutor().run(job, lambda line: print(line, flush=True)))
"""


def test_a_runner_killed_mid_job_is_followed_on_by_the_next_without_repeating_lines(tmp_path):
    script = (
        "import time, pathlib\nfor i in range(8):\n    print(f'line {i}', flush=True)\n"
        "    time.sleep(0.25)\npathlib.Path('done.txt').write_text('ok')\n"
    )
    job = spec(tmp_path, "recover", ["r.py"], {"r.py": script})
    first_runner = subprocess.Popen(
        [sys.executable, "-c", FIRST_RUNNER, job.identifier, str(job.workdir), str(job.scratch)],
        stdout=subprocess.PIPE,
        text=True,
    )
    first = [first_runner.stdout.readline().rstrip("\n") for _ in range(3)]
    first_runner.kill()  # SIGKILL: no clean-up of any kind; the container runs on
    first_runner.wait()
    first_runner.stdout.close()
    rest: list[str] = []
    execution = asyncio.run(DockerExecutor().recover(job, rest.append, seen=len(first)))
    assert execution.exit_code == 0
    assert first + rest == [f"line {i}" for i in range(8)]
    assert (job.workdir / "done.txt").read_text() == "ok"


def test_a_lost_container_is_said_to_be_lost(tmp_path):
    execution = asyncio.run(DockerExecutor().recover(spec(tmp_path, "gone", [], {}), print, 0))
    assert execution.exit_code is None and "its container is gone" in execution.message


def test_the_sample_project_runs_end_to_end_in_docker(tmp_path):
    world = build_world(JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path), tmp_path)
    try:
        with RunnerThread(world, tmp_path / "site", executor=DockerExecutor()):
            request = (
                world.client("dev")
                .post(
                    "job-requests",
                    json={"workspace": "sample", "backend": "tpp", "actions": ["report"]},
                )
                .json()
            )
            done = wait_for(world, request["id"], timeout=120)
        assert {j["state"] for j in done["jobs"]} == {"succeeded"}, done["jobs"]
        site = tmp_path / "site" / "workspaces" / "sample" / "output"
        assert (site / "table_by_region.csv").exists()
        last = done["jobs"][-1]["identifier"]
        provenance = world.client("dev").get(f"jobs/{last}/provenance").json()
        assert (provenance["executor"], provenance["interpreter"]) == ("docker", None)
        assert provenance["image"] == "jupyter-ext/python:bookworm"
        assert provenance["image_digest"].startswith("sha256:")  # the image's content id
    finally:
        world.close()


def test_each_executor_says_which_isolation_it_gives():
    """The health report (heartbeat) and describe() say what the tests here show."""
    from jupyter_ext.runner.executors import LocalExecutor

    docker = DockerExecutor(pids_limit=64)
    described = docker.describe()
    assert described["isolates"] is True and "no network" in described["isolation"]
    assert "64 processes" in described["isolation"]
    assert (
        "1 CPU, 4 GB, 6 h by default; an action may ask for less, not more"
        in (described["isolation"])
    )
    assert docker.health().startswith("docker (isolated") and len(docker.health()) <= 64
    local = LocalExecutor()
    assert local.describe()["isolates"] is False
    assert local.describe()["isolation"].startswith("none")
    assert "no isolation" in local.health()
