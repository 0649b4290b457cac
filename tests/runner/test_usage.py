"""Usage per job (issue 24) measured by real runners against the real job server: a local job
that burns CPU and holds memory, one cancelled, one on a backend that sends no job-chosen text;
the same action in Docker and under Slurm (those skip when the part is missing, except in CI).
"""

from __future__ import annotations

from jupyter_ext.runner.executors import LocalExecutor

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer, make_repo
from .test_local_runner import RunnerThread, wait_for, wait_for_log

HELD = 64_000_000  # bytes the job holds at once
WRITTEN = 200_000  # bytes of its one output

SOURCES = {
    "project.yaml": """version: "5"
actions:
  burn:
    run: python:v2 burn.py
    outputs: {highly_sensitive: {x: out/burnt.bin}}
  burn_too:
    run: python:v2 burn.py too
    outputs: {highly_sensitive: {x: out/too.bin}}
  sleeper:
    run: python:v2 sleeper.py
    outputs: {highly_sensitive: {x: out/never.csv}}
""",
    "burn.py": f"""import os, sys, time
held = bytearray({HELD})
for i in range(0, len(held), 4096):  # touched, so it is resident
    held[i] = 1
busy = time.process_time() + 0.6
while time.process_time() < busy:  # CPU, in one thread
    sum(range(1000))
os.makedirs("out", exist_ok=True)
with open(f"out/{{sys.argv[1] if len(sys.argv) > 1 else 'burnt'}}.bin", "wb") as f:
    f.write(b"x" * {WRITTEN})
print("burnt", flush=True)
time.sleep(1.5)  # Docker's stats, a second old at worst, see all its CPU before it ends
""",
    "sleeper.py": "import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n",
}


def usage_world(tmp_path, log_policy: str = "full"):
    """The usual world, a workspace `usage` of SOURCES, and a second backend `quiet` of the
    org with `log_policy`."""
    world = build_world(JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path), tmp_path)
    source = tmp_path / "usage-src"
    source.mkdir()
    for name, text in SOURCES.items():
        (source / name).write_text(text)
    make_repo(tmp_path / "repos" / "usage", source)
    world.workspace("sample-study", "usage", tmp_path / "repos" / "usage")
    world.quiet_token = world.backend("quiet", log_policy)
    from sqlalchemy import select

    from jupyter_ext.jobserver import orm

    with world.factory() as session:
        org = session.scalar(select(orm.Org).where(orm.Org.slug == "uni"))
        quiet = session.scalar(select(orm.Backend).where(orm.Backend.slug == "quiet"))
        session.add(orm.OrgBackend(org_id=org.id, backend_id=quiet.id))
        session.commit()
    return world


def run_action(world, action: str, backend: str = "tpp") -> dict:
    body = {"workspace": "usage", "backend": backend, "actions": [action]}
    reply = world.client("dev").post("job-requests", json=body)
    assert reply.status_code == 201, reply.text
    return reply.json()


def burnt(world, backend: str = "tpp", timeout: float = 120) -> dict:
    """The burn job, finished: its usage as the job server shows it."""
    request = run_action(world, "burn", backend)
    (job,) = wait_for(world, request["id"], timeout)["jobs"]
    assert job["state"] == "succeeded", job
    return job


def assert_burnt(usage: dict) -> None:
    """What every executor that measures CPU and memory must have seen of the burn job."""
    print("usage:", usage)  # the figures, for the record
    assert usage["cpu_seconds"] >= 0.5, usage  # it burnt 0.6 s of CPU time (process time)
    assert usage["wall_seconds"] >= usage["cpu_seconds"] - 0.05, usage  # one thread
    assert usage["peak_memory_bytes"] > HELD, usage
    assert usage["bytes_written"] == WRITTEN, usage  # its one output: what it left


def test_a_local_job_sends_its_own_rusage_with_its_end(tmp_path):
    world = usage_world(tmp_path)
    try:
        with RunnerThread(world, tmp_path / "site"):
            job = burnt(world)
            assert_burnt(job["usage"])
            page = world.client("dev").get(
                world.base_url.removesuffix("api/v1/") + f"jobs/{job['identifier']}"
            )
            assert "CPU " in page.text and "wrote 200 kB" in page.text
            # cancelled: the wrapper outlives the job to say what it used
            request = run_action(world, "sleeper")
            sleeper = request["jobs"][0]["identifier"]
            wait_for_log(world, sleeper, "sleeping")
            world.client("dev").post(f"jobs/{sleeper}/cancel").raise_for_status()
            (ended,) = wait_for(world, request["id"])["jobs"]
        assert ended["state"] == "cancelled", ended
        assert ended["usage"]["wall_seconds"] > 0 and ended["usage"]["cpu_seconds"] is not None
        assert ended["usage"]["bytes_written"] == 0
        summed = world.client("admin").get("usage", params={"group": "backend"}).json()
        assert summed[0]["name"] == "tpp" and summed[0]["measured"] == 2
    finally:
        world.close()


def test_a_backend_that_sends_no_job_text_sends_the_wall_time_alone(tmp_path):
    world = usage_world(tmp_path, log_policy="status")
    try:
        with RunnerThread(world, tmp_path / "site", token=world.quiet_token):
            job = burnt(world, "quiet")
        usage = job["usage"]
        assert usage["wall_seconds"] > 0
        assert (usage["cpu_seconds"], usage["peak_memory_bytes"], usage["bytes_written"]) == (
            None,
            None,
            None,
        )
    finally:
        world.close()


# -- Docker and Slurm: the same action in a container and in a batch job ------------------------


def test_a_docker_job_sends_its_containers_stats(tmp_path, docker_images):
    from jupyter_ext.runner.executors.docker import DockerExecutor

    world = usage_world(tmp_path)
    try:
        executor = DockerExecutor(images=docker_images, memory_mb=512, usage_every=0.2)
        with RunnerThread(world, tmp_path / "site", executor=executor):
            job = burnt(world)
        assert_burnt(job["usage"])
    finally:
        world.close()


def test_a_slurm_job_sends_what_its_cgroups_or_accounting_counted(tmp_path, slurm_cluster):
    from jupyter_ext.runner.executors import SlurmExecutor

    world = usage_world(tmp_path)
    try:
        executor = SlurmExecutor(
            slurm_conf=str(slurm_cluster.conf), memory_mb=512, poll_interval=0.1
        )
        with RunnerThread(world, tmp_path / "site", executor=executor):
            job = burnt(world)
        assert_burnt(job["usage"])  # sandboxed (the cluster runs as root): its own cgroups
    finally:
        world.close()


def test_usage_is_measured_without_blocking_jobs_that_run_side_by_side(tmp_path):
    """Two local jobs at once: each has its own figures (wait4 of its own process), the CPU of
    one never added to the other's."""
    world = usage_world(tmp_path)
    try:
        with RunnerThread(world, tmp_path / "site", executor=LocalExecutor()):
            requests = [run_action(world, action) for action in ("burn", "burn_too")]
            jobs = [wait_for(world, r["id"], 120)["jobs"][0] for r in requests]
        for job in jobs:
            assert job["state"] == "succeeded"
            assert_burnt(job["usage"])
            assert job["usage"]["cpu_seconds"] < 1.2, job["usage"]  # not both jobs' CPU
    finally:
        world.close()
