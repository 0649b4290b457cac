"""A job cannot fill the site's disk: its folder is bounded (c.RunnerApp.job_disk_mb).

The real runner and job server, with the local, Docker and Slurm executors. A job writes
ten times its backend's quota into its folder: it fails saying so, the site's file system
keeps its free space, and no image, mount or loop device of the job is left, even when the
runner that ran it was killed and another took over. Another job runs fine afterwards.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from jupyter_ext.runner.quota import JobFolders, mounts_under, over_quota

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer, make_repo
from ..runner.test_local_runner import RunnerThread, wait_for

QUOTA_MB = 32
ATTEMPT_MB = 10 * QUOTA_MB
HOSTILE = {
    "project.yaml": """version: "5"
actions:
  fill:
    run: python:v2 fill.py
    outputs: {highly_sensitive: {x: out/fill.csv}}
  fine:
    run: python:v2 fine.py
    outputs: {moderately_sensitive: {x: out/fine.csv}}
""",
    "fill.py": f"""import os
os.makedirs("out", exist_ok=True)
block = os.urandom(1 << 20)
with open("out/fill.csv", "wb") as f:
    for _ in range({ATTEMPT_MB}):  # ten times the quota; stops at the first refusal
        f.write(block)
        f.flush()
print("wrote it all", flush=True)
""",
    "fine.py": "import os\nos.makedirs('out')\nopen('out/fine.csv', 'w').write('n\\n8\\n')\n",
}

needs_root = pytest.mark.skipif(
    os.geteuid() != 0, reason="a file system per job folder needs a root runner"
)


def hostile_world(tmp_path):
    source = tmp_path / "hostile-src"
    source.mkdir()
    for name, text in HOSTILE.items():
        (source / name).write_text(text)
    world = build_world(JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path), tmp_path)
    make_repo(tmp_path / "repos" / "hostile", source)
    world.workspace("sample-study", "hostile", tmp_path / "repos" / "hostile")
    return world


def submit(world, action: str) -> dict:
    body = {"workspace": "hostile", "backend": "tpp", "actions": [action]}
    return world.client("dev").post("job-requests", json=body).json()


def free_mb(path) -> float:
    info = os.statvfs(path)
    return info.f_bavail * info.f_frsize / 2**20


def left_behind(site) -> list[str]:
    """Mounts, loop devices and images of the site's job folders still there."""
    found = [f"mount {m}" for m in mounts_under(site)]
    loops = subprocess.run(["losetup", "-a"], capture_output=True, text=True).stdout
    found += [f"loop {line}" for line in loops.splitlines() if str(site) in line]
    disks = site / "disks"
    found += [f"image {p}" for p in disks.iterdir()] if disks.is_dir() else []
    jobs = site / "jobs"
    found += [f"folder {p}" for p in jobs.iterdir()] if jobs.is_dir() else []
    return found


def executor_for(kind: str, request):
    if kind == "docker":
        request.getfixturevalue("docker_images")
        from jupyter_ext.runner.executors.docker import DockerExecutor

        return DockerExecutor()
    if kind == "slurm":
        from ..runner.test_slurm_executor import new_executor

        return new_executor(request.getfixturevalue("slurm_cluster"), memory_mb=512)
    from jupyter_ext.runner.executors import LocalExecutor

    return LocalExecutor()


@needs_root
@pytest.mark.parametrize("kind", ["local", "docker", "slurm"])
def test_a_job_that_fills_its_folder_fails_and_the_site_disk_is_unharmed(kind, request, tmp_path):
    world = hostile_world(tmp_path)
    site = tmp_path / "site"
    executor = executor_for(kind, request)
    before = free_mb(tmp_path)
    try:
        with RunnerThread(world, site, executor=executor, job_disk_mb=QUOTA_MB):
            filled = wait_for(world, submit(world, "fill")["id"], timeout=240)["jobs"][0]
            fine = wait_for(world, submit(world, "fine")["id"], timeout=240)["jobs"][0]
        logs = world.client("dev").get(f"jobs/{filled['identifier']}/logs").json()
    finally:
        world.close()
    assert filled["state"] == "failed", filled
    assert filled["status_message"] == over_quota(QUOTA_MB)
    assert "wrote it all" not in [line["text"] for line in logs]
    assert any("No space left on device" in line["text"] for line in logs), logs[-3:]
    assert fine["state"] == "succeeded", fine
    # The site's disk lost no more than noise (other processes write too), not the attempt.
    assert free_mb(tmp_path) > before - ATTEMPT_MB / 2
    assert left_behind(site) == []


@needs_root
def test_the_folders_a_killed_runner_left_are_removed_at_the_next_start(tmp_path):
    """A runner killed outright leaves its jobs' disks mounted: the next one, on the same
    folder, unmounts and deletes those of every job it does not follow on."""
    world = hostile_world(tmp_path)
    site = tmp_path / "site"
    folders = JobFolders(site, QUOTA_MB)
    for ghost in ("ghost1", "ghost2"):
        (folders.make(ghost) / "left.txt").write_text("by a dead runner")
    assert len(mounts_under(site / "jobs")) == 2
    try:
        with RunnerThread(world, site, job_disk_mb=QUOTA_MB):
            fine = wait_for(world, submit(world, "fine")["id"])["jobs"][0]
    finally:
        world.close()
    assert fine["state"] == "succeeded", fine
    assert left_behind(site) == []


@needs_root
def test_a_runner_killed_mid_job_leaves_no_disk_behind(tmp_path):
    """The real `jupyter ext runner`, killed with SIGKILL while its job runs, then started
    again: the job ends (followed on, or failed saying why) and its disk goes with it."""
    from ..runner.test_local_runner import faults_world
    from ..runner.test_recovery import kill_mid_job_and_restart

    world = faults_world(tmp_path)
    try:
        done, _ = kill_mid_job_and_restart(world, tmp_path, "local", "--RunnerApp.job_disk_mb=64")
    finally:
        world.close()
    assert done["state"] == "failed" and "the runner stopped" in done["status_message"]
    assert left_behind(tmp_path / "site") == []


def test_without_root_the_folder_is_watched_and_a_job_over_it_is_stopped(tmp_path):
    """The soft quota (a runner that is not root): measured each second, the job stopped."""
    import asyncio
    import functools

    from jupyter_ext.runner.executors import LocalExecutor
    from jupyter_ext.runner.executors.base import JobSpec

    folders = JobFolders(tmp_path / "site", 16, every=0.2)
    folders.hard = False
    folder = folders.make("soft")
    (folder / "main.py").write_text(
        "import time\nblock = b'x' * (1 << 20)\nwith open('big', 'wb') as f:\n"
        "    for _ in range(1000):\n        f.write(block); f.flush(); time.sleep(0.01)\n"
    )
    executor = LocalExecutor()
    env = {"PATH": "/usr/bin:/bin"}
    spec = JobSpec("soft", "python", ["main.py"], folder, env, scratch=tmp_path / "scratch")

    async def main():
        async with folders.watched("soft", functools.partial(executor.cancel, "soft")):
            return await asyncio.wait_for(executor.run(spec, lambda line: None), 120)

    execution = asyncio.run(main())
    assert execution.cancelled and folders.full("soft")
    assert (folder / "big").stat().st_size < 1000 << 20
    folders.remove("soft")
    assert not (tmp_path / "site" / "jobs" / "soft").exists()
