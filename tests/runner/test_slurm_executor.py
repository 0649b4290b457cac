"""The Slurm executor against a real single-node Slurm cluster started for the session.

No job server: the executor alone, as the runner calls it. Nothing here asserts how long
anything takes; jobs that must wait for the test wait for a gate file it creates in their
folder (a sandboxed job sees nothing else of the test's).
"""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest

from jupyter_ext.runner.executors import SlurmExecutor
from jupyter_ext.runner.executors.base import JobSpec, timed_out
from jupyter_ext.schema import JobResources

HANG_GUARD = 180  # seconds before a test gives up on a job that never ends (not a timing check)

PROBE = """
import json, os, sys, time
print("first", flush=True)
gate = sys.argv[1]
for _ in range(1200):  # until the test saw the first line
    if os.path.exists(gate):
        break
    time.sleep(0.05)
else:
    raise SystemExit(3)
open("made.txt", "w").write("made in the job")
env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
slurm = sorted(k for k in os.environ if k.startswith("SLURM_"))
rows = open(os.path.join(os.environ["JUPYTER_EXT_DATASETS"], "cohort", "rows.csv")).read()
json.dump({"cwd": os.getcwd(), "env": env, "slurm": slurm, "rows": rows}, open("probe.json", "w"))
print("second", flush=True)
sys.stdout.write("last line without newline")
"""

LINES_THEN_GATE = """
import os, sys, time
for i in range(1, 4):
    print(f"line {i}", flush=True)
for _ in range(2400):
    if os.path.exists(sys.argv[1]):
        break
    time.sleep(0.05)
else:
    raise SystemExit(3)
for i in range(4, 7):
    print(f"line {i}", flush=True)
raise SystemExit(5)
"""

SLEEPER = """
import time
print("started", flush=True)
time.sleep(600)
print("never")
"""


@pytest.fixture
def executor(slurm_cluster):
    return new_executor(slurm_cluster)


def new_executor(cluster, **traits) -> SlurmExecutor:
    traits = {"slurm_conf": str(cluster.conf), "memory_mb": 100, "poll_interval": 0.1, **traits}
    return SlurmExecutor(**traits)


def spec(tmp_path, name: str, program: str | None, args=(), **extra) -> JobSpec:
    workdir = tmp_path / name
    workdir.mkdir()
    if program is not None:
        (workdir / "main.py").write_text(program)
    return JobSpec(
        identifier=f"t{name}",
        image=extra.pop("image", "python"),
        args=["main.py", *args] if program is not None else list(args),
        workdir=workdir,
        env=extra.pop("env", {"LANG": "C.UTF-8"}),
        scratch=tmp_path / f"{name}-scratch",
        **extra,
    )


def run(executor, job, on_line=None):
    lines: list[str] = []

    async def main():
        return await asyncio.wait_for(executor.run(job, on_line or lines.append), HANG_GUARD)

    return asyncio.run(main()), lines


def test_a_job_runs_in_its_folder_and_its_lines_arrive_while_it_runs(
    executor, slurm_cluster, tmp_path
):
    data = tmp_path / "data"
    data.mkdir()
    (data / "rows.csv").write_text("id\n1\n")
    env = {"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin", "GREETING": "hello 'quoted' $world"}
    job = spec(tmp_path, "probe", PROBE, ["gate"], env=env, datasets={"cohort": data})
    gate = job.workdir / "gate"
    lines: list[str] = []

    def on_line(line: str) -> None:
        lines.append(line)
        if line == "first":  # the job waits for this: its first line came while it ran
            gate.touch()

    execution, _ = run(executor, job, on_line)
    assert (execution.exit_code, execution.message) == (0, ""), (execution, lines)
    assert lines == ["first", "second", "last line without newline"]
    assert (job.workdir / "made.txt").read_text() == "made in the job"
    probe = json.loads((job.workdir / "probe.json").read_text())
    assert probe["cwd"] == str(job.workdir)
    datasets = str(job.scratch / "datasets")
    assert probe["env"] == {**env, "JUPYTER_EXT_DATASETS": datasets}  # exactly its environment
    assert "SLURM_JOB_ID" in probe["slurm"]
    assert probe["rows"] == "id\n1\n"
    # The executor's files are in the scratch folder, none in the checkout.
    names = ["gate", "made.txt", "main.py", "probe.json"]
    assert sorted(p.name for p in job.workdir.iterdir()) == names
    job_id = (job.scratch / "slurm_id").read_text()
    assert execution.provenance["executor"] == "slurm"
    assert execution.provenance["slurm_job"] == job_id
    assert execution.provenance["partition"] == "debug"
    show = slurm_cluster.run("scontrol", "show", "job", "-o", job_id).stdout
    assert f"JobName=jupyter-ext-{job.identifier} " in show


def test_a_failing_job_gives_its_exit_code(executor, tmp_path):
    execution, lines = run(executor, spec(tmp_path, "fail", "print('bye')\nraise SystemExit(4)"))
    assert (execution.exit_code, execution.message, lines) == (4, "exit code 4", ["bye"])
    assert not execution.cancelled and not execution.timed_out


def test_an_unknown_image_or_a_missing_program_or_partition_says_so(slurm_cluster, tmp_path):
    unknown = spec(tmp_path, "stata", None, ["a.do"], image="spss")
    execution, _ = run(new_executor(slurm_cluster), unknown)
    assert execution.exit_code is None
    assert "'spss' has no command" in execution.message

    missing = new_executor(slurm_cluster, commands={"python": ["/nonexistent/python3"]})
    execution, lines = run(missing, spec(tmp_path, "missing", "print(1)"))
    assert execution.exit_code is None
    assert "'/nonexistent/python3'" in execution.message
    assert "is not on the Slurm node localhost" in execution.message
    assert lines and "/nonexistent/python3" in lines[0]

    nowhere = new_executor(slurm_cluster, partition="nowhere")
    execution, _ = run(nowhere, spec(tmp_path, "nowhere", "print(1)"))
    assert execution.exit_code is None
    assert execution.message.startswith("Slurm refused the job:")
    assert "Invalid partition name" in execution.message


def test_a_job_over_its_time_limit_is_stopped(slurm_cluster, tmp_path):
    executor = new_executor(slurm_cluster, time_limit=5)  # enough to start, on a busy machine
    execution, lines = run(executor, spec(tmp_path, "slow", SLEEPER))
    assert execution.timed_out and not execution.cancelled
    assert execution.message == timed_out(5)
    assert lines[0] == "started" and "never" not in lines
    assert execution.provenance["slurm_job"] not in slurm_cluster.queue()


def test_sbatch_and_the_sandbox_get_what_the_action_asked_for(slurm_cluster, tmp_path):
    """The figures go to sbatch (whole CPUs, minutes) and to the job's cgroups: its memory
    of 64 MB stops it, where the default's 256 would not have."""
    executor = new_executor(
        slurm_cluster, memory_mb=256, max_cpus=2, max_time_limit=600, time_limit=60
    )
    asked = JobResources(cpus=2, memory_mb=64, time_limit=120)
    hog = "print('started', flush=True)\nx = bytearray(128 << 20)\nprint('never')"
    execution, lines = run(executor, spec(tmp_path, "asks", hog, resources=asked))
    assert execution.message == "stopped: it used more than its 64 MB of memory", lines
    assert lines[0] == "started" and "never" not in lines
    show = slurm_cluster.run("scontrol", "show", "job", "-o", execution.provenance["slurm_job"])
    figures = dict(word.partition("=")[::2] for word in show.stdout.split())
    assert (figures["NumCPUs"], figures["MinMemoryNode"]) == ("2", "64M")
    assert figures["TimeLimit"] == "00:02:00"


def test_a_cancelled_job_stops_and_says_so(executor, slurm_cluster, tmp_path):
    job = spec(tmp_path, "cancel", SLEEPER)

    async def main():
        started = asyncio.Event()
        lines: list[str] = []

        def on_line(line: str) -> None:
            lines.append(line)
            started.set()

        task = asyncio.create_task(executor.run(job, on_line))
        await asyncio.wait_for(started.wait(), HANG_GUARD)
        await executor.cancel(job.identifier)
        return await asyncio.wait_for(task, HANG_GUARD), lines

    execution, lines = asyncio.run(main())
    assert execution.cancelled and execution.message == "cancelled"
    assert lines[0] == "started" and "never" not in lines
    assert execution.provenance["slurm_job"] not in slurm_cluster.queue()


@pytest.mark.parametrize("found_by", ["slurm_id", "job name"])
def test_a_new_executor_follows_on_a_job_an_abandoned_one_started(
    slurm_cluster, tmp_path, found_by
):
    job = spec(tmp_path, "recover", LINES_THEN_GATE, ["gate"])
    gate = job.workdir / "gate"
    first: list[str] = []

    async def abandon():
        three = asyncio.Event()

        def on_line(line: str) -> None:
            first.append(line)
            if len(first) == 3:
                three.set()

        task = asyncio.create_task(new_executor(slurm_cluster).run(job, on_line))
        await asyncio.wait_for(three.wait(), HANG_GUARD)
        task.cancel()  # as a runner that dies: no scancel
        with contextlib.suppress(asyncio.CancelledError):
            await task

    asyncio.run(abandon())
    assert first == ["line 1", "line 2", "line 3"]
    job_id = (job.scratch / "slurm_id").read_text()
    assert job_id in slurm_cluster.queue()  # still running, waiting at its gate
    if found_by == "job name":  # the runner died before it wrote the id down
        (job.scratch / "slurm_id").unlink()
    gate.touch()

    rest: list[str] = []

    async def follow_on():
        return await asyncio.wait_for(
            new_executor(slurm_cluster).recover(job, rest.append, seen=len(first)), HANG_GUARD
        )

    execution = asyncio.run(follow_on())
    assert rest == ["line 4", "line 5", "line 6"]
    assert (execution.exit_code, execution.message) == (5, "exit code 5")
    assert execution.provenance["slurm_job"] == job_id


def test_recover_says_so_when_slurm_no_longer_knows_the_job(executor, tmp_path):
    job = spec(tmp_path, "gone", "print(1)")
    job.scratch.mkdir()
    (job.scratch / "slurm_id").write_text("987654")
    execution = asyncio.run(executor.recover(job, [].append, seen=0))
    assert execution.exit_code is None and "no longer knows job 987654" in execution.message

    (job.scratch / "slurm_id").unlink()
    execution = asyncio.run(executor.recover(job, [].append, seen=0))
    assert execution.exit_code is None and "knows no job of this name" in execution.message


def test_describe_names_the_partition_and_the_cluster(slurm_cluster, executor):
    described = executor.describe()
    assert described["executor"] == "slurm" and described["isolates"] is True
    assert "user nobody" in described["isolation"] and "no network" in described["isolation"]
    assert (
        "1 CPU, 100 MB, 6 h by default; an action may ask for less, not more"
        in (described["isolation"])
    )
    assert executor.health().startswith("slurm (isolated")
    unisolated = new_executor(slurm_cluster, job_user="")
    assert unisolated.describe()["isolates"] is False
    assert unisolated.describe()["isolation"].startswith("none")
    assert "no isolation" in unisolated.health() and len(unisolated.health()) <= 64
    assert described["cluster"] == slurm_cluster.cluster_name
    assert described["partition"] == "(default)"
    assert described["partition_state"]["name"] == "debug"


def test_the_sample_project_runs_end_to_end_on_slurm(slurm_cluster, tmp_path):
    from ..jobserver.conftest import build_world
    from ..jobserver.harness import JobServer
    from .test_local_runner import RunnerThread, wait_for

    world = build_world(JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path), tmp_path)
    try:
        with RunnerThread(world, tmp_path / "site", executor=new_executor(slurm_cluster)):
            body = {"workspace": "sample", "backend": "tpp", "actions": ["report"]}
            request = world.client("dev").post("job-requests", json=body).json()
            done = wait_for(world, request["id"], timeout=180)
    finally:
        world.close()
    assert {j["state"] for j in done["jobs"]} == {"succeeded"}, done["jobs"]
    assert (tmp_path / "site" / "workspaces" / "sample" / "output" / "report.md").exists()
