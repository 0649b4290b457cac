"""Workspace servers as Slurm jobs: the real hub, batchspawner's SlurmSpawner, a real cluster.

The hub's environment carries SLURM_CONF of the session's single-node cluster
(tests/parts/slurm.py), whose node is this machine at 127.0.0.1: the server in
the job listens there and tells the hub its port through batchspawner's call
back (our handler of it, which takes a port only). A member starts the
workspace (a Slurm job while it runs), finds the checkout at its branch, runs
an action through the job server and a runner, and stops it (the job is gone).
Someone outside the project is refused before anything is submitted to Slurm.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from jupyter_ext.cli.hubstack import hub_config_dir

from .harness import HubWorld

JOB_NAME = "spawner-jupyterhub"  # batchspawner's batch script names its jobs so


@pytest.fixture(scope="module")
def world(slurm_cluster, tmp_path_factory):
    settings = {
        "JupyterExtHub.slurm_server_ip": "127.0.0.1",
        "JupyterExtHub.slurm_runtime": "30:00",
        "JupyterExtHub.slurm_memory": "500M",
    }
    world = HubWorld(
        tmp_path_factory.mktemp("hub-slurm"),
        spawner="slurm",
        settings=settings,
        env={"SLURM_CONF": str(slurm_cluster.conf)},
    )
    yield world
    world.close()


def server_jobs(cluster, states: str = "pending,running,completing") -> list[list[str]]:
    """The hub's server jobs Slurm knows in these states: [id, state, node, working folder]."""
    found = cluster.run("squeue", "-h", "-n", JOB_NAME, "-t", states, "-o", "%i %T %N %Z")
    return [line.split() for line in found.stdout.splitlines()]


def environ_of_job(job_id: str) -> dict[str, str]:
    """The environment of the job's server process (we are root on the single node)."""
    for proc in Path("/proc").iterdir():
        try:
            raw = (proc / "environ").read_bytes()
            cmdline = (proc / "cmdline").read_bytes()
        except OSError:
            continue
        env = dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)
        if env.get("SLURM_JOB_ID") == job_id and b"jupyterhub-singleuser" in cmdline:
            return env
    raise AssertionError(f"no server process of job {job_id}")


def test_a_member_starts_the_workspace_as_a_slurm_job_and_runs_an_action(
    world, slurm_cluster, tmp_path
):
    alice = world.browser("alice")
    assert 'data-server-name="study"' in alice.sign_in().text
    clicked = time.monotonic()
    lab = alice.start("study")
    ready = time.monotonic() - clicked
    assert lab.status_code == 200 and lab.url.path == "/user/alice/study/lab", lab.text[-2000:]
    print(f"\nSlurm: from the start button to a ready server {ready:.1f} s")

    jobs = server_jobs(slurm_cluster)
    assert len(jobs) == 1 and jobs[0][1] == "RUNNING", jobs
    job_id, _, node, workdir = jobs[0]
    assert node == "localhost" and workdir == str(world.folder / "workspaces" / "alice")
    checkout = world.folder / "workspaces" / "alice" / "study"

    def git(*a):
        return subprocess.run(
            ["git", "-C", str(checkout), *a],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    assert git("rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert world.gh_tokens["alice"] not in (checkout / ".git" / "config").read_text()

    env = environ_of_job(job_id)  # what the pre-spawn hook set reached the job
    assert env["JUPYTER_EXT_WORKSPACE"] == "study" and env["JUPYTER_EXT_BRANCH"] == "main"
    assert env["JUPYTER_EXT_JOBSERVER_URL"] == world.stack.jobserver_url
    assert env["JUPYTERHUB_ROOT_DIR"] == str(checkout)
    assert env["SLURM_CONF"] == str(slurm_cluster.conf)
    assert env["HOME"] == str(world.folder / "workspaces" / "alice")

    # the server's own token may tell the hub a port while starting, and nothing else
    # (batchspawner's own handler sets any attribute named, and the hub runs batch_cancel_cmd)
    hub_api = f"{world.stack.url}hub/api/batchspawner"
    as_server = {"Authorization": f"token {env['JUPYTERHUB_API_TOKEN']}"}
    marker = tmp_path / "ran"
    for body in (
        {"batch_cancel_cmd": f"touch {marker}"},
        {"port": 1, "exec_prefix": "x"},
        {"port": 1234},
    ):
        answer = httpx.post(hub_api, json=body, headers=as_server)
        assert answer.status_code in (400, 409), (body, answer.text)

    _, job = world.run_action(alice, tmp_path / "site")
    assert job["state"] == "succeeded", job

    stopping = time.monotonic()
    alice.stop("study")
    print(f"Slurm: stop {time.monotonic() - stopping:.1f} s")
    assert server_jobs(slurm_cluster) == []
    assert not marker.exists()
    state = server_jobs(slurm_cluster, "all")
    assert [job[1] for job in state if job[0] == job_id] in (["CANCELLED"], ["COMPLETED"]), state


def test_someone_outside_the_project_is_refused_before_anything_is_submitted(world, slurm_cluster):
    before = server_jobs(slurm_cluster, "all")
    world.outsider_refused()
    assert server_jobs(slurm_cluster, "all") == before


def test_only_a_slurm_hub_has_the_call_back_and_it_is_ours():
    sys.path.insert(0, str(hub_config_dir()))  # hubext, as jupyterhub_config.py imports it
    from hubext import spawners
    from hubext.settings import JupyterExtHub
    from jupyterhub.apihandlers import default_handlers
    from traitlets.config import Config

    def call_backs():
        return [handler for route, handler in default_handlers if route == "/api/batchspawner"]

    assert call_backs() == []  # importing spawners (e.g. for Docker) removed batchspawner's
    spawners.configure_slurm(Config(), JupyterExtHub(), [])
    assert call_backs() == [spawners.PortOnlyAPIHandler]
