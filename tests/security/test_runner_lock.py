"""Attack: two runners on one site folder (a restart that overlaps, a second one started by
mistake). They would follow the same containers and send the same jobs' lines and ends.

A runner takes an exclusive lock on its workdir for its life; another refuses to start,
naming the holder's PID, or waits for a stopping one to be gone. A runner told to stop
(SIGTERM) lets go of its containers at once, leaving them to run, and the next runner
follows them on. Real `jupyter-ext runner` processes against the real job server.
"""

from __future__ import annotations

import signal
import subprocess
import time

import pytest

from jupyter_ext.runner.lock import LOCK_FILE

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer, make_repo
from ..runner.test_local_runner import submit, wait_for, wait_for_log
from ..runner.test_recovery import start_runner

PROJECT = """version: "5"
actions:
  long:
    run: python:v2 long.py
    outputs: {highly_sensitive: {x: out/long.txt}}
"""
LONG = (
    "import pathlib, time\nfor i in range(60):\n    print(f'line {i}', flush=True)\n"
    "    time.sleep(0.25)\n"
    "pathlib.Path('out').mkdir()\npathlib.Path('out/long.txt').write_text('x')\n"
)


def long_world(tmp_path):
    source = tmp_path / "long-src"
    source.mkdir()
    (source / "project.yaml").write_text(PROJECT)
    (source / "long.py").write_text(LONG)
    world = build_world(JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path), tmp_path)
    make_repo(tmp_path / "repos" / "long", source)
    world.workspace("sample-study", "long", tmp_path / "repos" / "long")
    return world


def holder(tmp_path) -> int | None:
    try:
        return int((tmp_path / "site" / LOCK_FILE).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def wait_until(condition, timeout: float = 60, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        time.sleep(0.05)


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def test_a_second_runner_on_the_same_workdir_refuses_naming_the_first(tmp_path):
    world = long_world(tmp_path)
    logs = tmp_path / "first.log", tmp_path / "second.log"
    try:
        with logs[0].open("w") as log:
            first = start_runner(world, tmp_path, "local", log)
        try:
            wait_until(lambda: holder(tmp_path) == first.pid, what="the first runner's lock")
            with logs[1].open("w") as log:
                second = start_runner(world, tmp_path, "local", log, "--RunnerApp.lock_wait=0")
                code = second.wait(60)
            said = logs[1].read_text()
            assert code != 0 and first.poll() is None
            assert f"another runner (PID {first.pid}) is running on the site folder" in said
            assert "Stop it first" in said and "another --workdir" in said
            assert holder(tmp_path) == first.pid  # the refused one changed nothing
        finally:
            stop(first)
        with logs[1].open("w") as log:  # the first is gone: the next one starts
            third = start_runner(world, tmp_path, "local", log, "--RunnerApp.lock_wait=0")
        try:
            wait_until(lambda: holder(tmp_path) == third.pid, what="the lock, once free")
        finally:
            stop(third)
    finally:
        world.close()


@pytest.mark.usefixtures("docker_images")
def test_a_stopping_runner_lets_go_of_its_container_and_the_next_follows_it_on(tmp_path):
    import docker

    engine = docker.from_env()
    world = long_world(tmp_path)
    dev = world.client("dev")
    logs = tmp_path / "first.log", tmp_path / "second.log"
    try:
        request = submit(world, "long", "long")
        ident = request["jobs"][0]["identifier"]
        with logs[0].open("w") as log:
            first = start_runner(world, tmp_path, "docker", log, "--log-level=INFO")
        try:
            wait_for_log(world, ident, "line 5")
            first.send_signal(signal.SIGTERM)
            with logs[1].open("w") as log:  # at once, while the first may still be stopping
                second = start_runner(world, tmp_path, "docker", log, "--log-level=INFO")
            while first.poll() is None:  # never both: the second waits for the lock
                assert holder(tmp_path) != second.pid
                time.sleep(0.02)
            first.wait(30)
            # the first let go: the container ran on without it (the job is not over)
            label = {"label": f"jupyter-ext.job={ident}"}
            running = engine.containers.list(filters={**label, "status": "running"})
            assert running, "the first runner followed its container to the end"
            assert dev.get(f"jobs/{ident}").json()["state"] == "running"
            wait_until(lambda: holder(tmp_path) == second.pid, what="the second's lock")
            done = wait_for(world, request["id"], timeout=120)["jobs"][0]
        finally:
            stop(first)
            stop(second)
        lines = [line["text"] for line in dev.get(f"jobs/{ident}/logs").json()]
    finally:
        world.close()
    first_said, second_said = logs[0].read_text(), logs[1].read_text()
    assert done["state"] == "succeeded", (done, first_said[-2000:], second_said[-2000:])
    assert lines == [f"line {i}" for i in range(60)]  # every line once: no overlap
    assert "1 jobs let go of" in first_said
