"""A site's own executor, added as a package: registered in the entry-point group
`jupyter_ext.executors`, then chosen by its short name like the built-in ones.

The package is `plugin_pkg/tiny_executor.py`; its registration is a dist-info folder written
into a temporary folder put on the path (never an install into the environment), as pip
would leave it."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from traitlets.config import Config

from jupyter_ext.runner.app import RunnerApp, VerifyApp
from jupyter_ext.runner.executors.docker import DockerExecutor
from jupyter_ext.runner.executors.local import LocalExecutor
from jupyter_ext.runner.executors.slurm import SlurmExecutor

from ..jobserver.test_jobserver_cli import SCRIPT, environment
from .test_local_runner import faults_world, wait_for, wait_for_log

PLUGIN_PKG = Path(__file__).parent / "plugin_pkg"


def register_tiny(folder: Path) -> Path:
    """The dist-info of a package `jupyter-ext-tiny` that registers the executor `tiny`."""
    info = folder / "jupyter_ext_tiny-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: jupyter-ext-tiny\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(
        "[jupyter_ext.executors]\ntiny = tiny_executor:TinyExecutor\n"
    )
    return folder


def test_an_executor_registered_by_a_package_is_chosen_by_its_short_name(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(PLUGIN_PKG))
    monkeypatch.syspath_prepend(str(register_tiny(tmp_path / "site-packages")))
    from tiny_executor import TinyExecutor

    config = Config()
    config.RunnerApp.executor = "tiny"
    config.TinyExecutor.time_limit = 7.0
    app = RunnerApp(config=config)
    assert app.executor is TinyExecutor
    executor = app.job_executor
    assert isinstance(executor, TinyExecutor) and executor.parent is app
    assert executor.time_limit == 7.0  # config flows down to it
    assert TinyExecutor in app.classes and TinyExecutor in VerifyApp().classes
    assert "  - tiny: tiny_executor.TinyExecutor" in RunnerApp.class_traits()["executor"].help
    # the built-in short names (in any case), a dotted name and a class work too
    for value, chosen in [
        ("docker", DockerExecutor),
        ("SLURM", SlurmExecutor),
        ("jupyter_ext.runner.executors.local.LocalExecutor", LocalExecutor),
        (TinyExecutor, TinyExecutor),
    ]:
        config.RunnerApp.executor = value
        assert RunnerApp(config=config).executor is chosen


def test_a_runner_runs_jobs_with_an_executor_a_package_added(tmp_path):
    """A real runner process, `--executor tiny`: a job runs to its end with its log, and the
    base's time limit and cancel hold for an executor that wrote neither."""
    world = faults_world(tmp_path)
    dev = world.client("dev")
    plugins = register_tiny(tmp_path / "site-packages")
    token = tmp_path / "runner.token"
    token.write_text(world.runner_token)
    env = environment(PYTHONPATH=os.pathsep.join([str(plugins), str(PLUGIN_PKG)]))
    log = (tmp_path / "runner.log").open("w")
    runner = subprocess.Popen(
        [
            str(SCRIPT),
            "runner",
            "--server",
            world.base_url.removesuffix("/api/v1/"),
            "--backend",
            "tpp",
            "--token-file",
            str(token),
            "--executor",
            "tiny",
            "--workdir",
            str(tmp_path / "site"),
            "--TinyExecutor.time_limit=20",
            "--RunnerApp.heartbeat_interval=0.5",
            "--RunnerApp.poll_wait=1",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )

    def submit(action: str) -> dict:
        body = {"workspace": "faults", "backend": "tpp", "actions": [action]}
        return dev.post("job-requests", json=body).json()

    try:
        steady = wait_for(world, submit("steady")["id"], timeout=90)["jobs"][0]
        sleeper = submit("sleeper")
        wait_for_log(world, sleeper["jobs"][0]["identifier"], "sleeping")
        dev.post(f"jobs/{sleeper['jobs'][0]['identifier']}/cancel")
        cancelled = wait_for(world, sleeper["id"])["jobs"][0]
        timed = wait_for(world, submit("sleeper")["id"], timeout=90)["jobs"][0]
        health = dev.get("backends/tpp").json()["executor"]
        lines = [line["text"] for line in dev.get(f"jobs/{steady['identifier']}/logs").json()]
    finally:
        runner.send_signal(signal.SIGTERM)
        runner.wait(15)
        log.close()
        world.close()
    why = (tmp_path / "runner.log").read_text()[-3000:]
    assert steady["state"] == "succeeded", (steady, why)
    assert lines == [f"line {i}" for i in range(40)]
    assert cancelled["state"] == "cancelled", (cancelled, why)
    assert timed["state"] == "failed", (timed, why)
    assert timed["status_message"] == "stopped: it ran longer than its limit of 20 s"
    assert health == "tiny"
