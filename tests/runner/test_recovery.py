"""A runner killed with SIGKILL mid-job, then started again on the same site folder.

With Docker the next runner finds the container by its label and follows it on:
the job succeeds, its log has every line once. With local processes the job's
pipe died with the runner: the next runner stops what is left and fails the
job, saying why. Either way the job never runs twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from ..jobserver.test_jobserver_cli import SCRIPT, environment
from .test_local_runner import faults_world, wait_for, wait_for_log


def start_runner(world, tmp_path, executor: str, log, *options: str) -> subprocess.Popen:
    token = tmp_path / "runner.token"
    token.write_text(world.runner_token)
    root = world.base_url.removesuffix("/api/v1/")
    return subprocess.Popen(
        [
            str(SCRIPT),
            "runner",
            "--server",
            root,
            "--backend",
            "tpp",
            "--token-file",
            str(token),
            "--executor",
            executor,
            "--workdir",
            str(tmp_path / "site"),
            *options,
        ],
        cwd=tmp_path,
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=log,
    )


def kill_mid_job_and_restart(world, tmp_path, executor: str, *options) -> tuple[dict, list[str]]:
    dev = world.client("dev")
    request = dev.post(
        "job-requests", json={"workspace": "faults", "backend": "tpp", "actions": ["steady"]}
    ).json()
    ident = request["jobs"][0]["identifier"]
    with (tmp_path / "runner.log").open("w") as log:
        first = start_runner(world, tmp_path, executor, log, *options)
        try:
            wait_for_log(world, ident, "line 5")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        second = start_runner(world, tmp_path, executor, log, *options)
        try:
            done = wait_for(world, request["id"], timeout=90)["jobs"][0]
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(15)
    lines = [line["text"] for line in dev.get(f"jobs/{ident}/logs").json()]
    return done, lines


@pytest.mark.usefixtures("docker_images")
def test_docker_a_killed_runners_job_is_followed_on_to_its_end(tmp_path):
    world = faults_world(tmp_path)
    try:
        done, lines = kill_mid_job_and_restart(world, tmp_path, "docker")
    finally:
        world.close()
    assert done["state"] == "succeeded", (done, (tmp_path / "runner.log").read_text()[-3000:])
    assert lines == [f"line {i}" for i in range(40)]
    assert not list((tmp_path / "site" / "journal").glob("*.json"))  # nothing left to resend


def test_slurm_a_killed_runners_job_is_followed_on_to_its_end(slurm_cluster, tmp_path):
    world = faults_world(tmp_path)
    options = (f"--SlurmExecutor.slurm_conf={slurm_cluster.conf}", "--SlurmExecutor.memory_mb=100")
    try:
        done, lines = kill_mid_job_and_restart(world, tmp_path, "slurm", *options)
    finally:
        world.close()
    assert done["state"] == "succeeded", (done, (tmp_path / "runner.log").read_text()[-3000:])
    assert lines == [f"line {i}" for i in range(40)]


def test_local_a_killed_runners_job_fails_saying_why_and_is_stopped(tmp_path):
    world = faults_world(tmp_path)
    try:
        done, lines = kill_mid_job_and_restart(world, tmp_path, "local")
    finally:
        world.close()
    assert done["state"] == "failed", done
    assert "cannot be followed on" in done["status_message"]
    assert lines[:6] == [f"line {i}" for i in range(6)] and "line 39" not in lines
    assert not processes_running("steady.py", str(tmp_path))  # what was left was stopped


def processes_running(*words: str) -> list[int]:
    """PIDs whose command line holds every word (only ours can match: tmp_path is in it)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            cwd = os.readlink(proc / "cwd")
        except OSError:
            continue
        if all(word in cmdline + " " + cwd for word in words):
            found.append(int(proc.name))
    return found


def test_the_journal_reads_back_only_entries_named_after_their_own_job(tmp_path, caplog):
    """A journal entry is the site's, but a local job could write one: an entry whose lease
    names another file, or is not a lease, is left (logged), never followed on."""
    import datetime as dt
    import json

    from jupyter_ext.runner.journal import Journal
    from jupyter_ext.schema import Lease

    journal = Journal(tmp_path / "journal")
    now = dt.datetime.now(dt.UTC)
    lease = Lease(
        identifier="good1",
        job_request="r",
        workspace="w",
        action="a",
        repo="x",
        sha="0" * 40,
        run="python:v2 a.py",
        needs=[],
        wait_for=[],
        outputs={},
        lease_expires_at=now,
    )
    journal.start(lease)
    forged = lease.model_copy(update={"identifier": "../../outside/x"})
    (tmp_path / "journal" / "forged.json").write_text(
        json.dumps({"lease": forged.model_dump(mode="json"), "final": None})
    )
    (tmp_path / "journal" / "junk.json").write_text("{not json")
    assert [entry.identifier for entry, _ in journal.entries()] == ["good1"]
    assert "forged.json is not read" in caplog.text and "junk.json is not read" in caplog.text
    with pytest.raises(Exception, match="not one safe name"):
        journal.start(forged)
    assert not (tmp_path / "outside").exists()
