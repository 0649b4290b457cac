"""The runner with the local executor against the real job server: the sample project runs."""

from __future__ import annotations

import asyncio
import contextlib
import threading

from jupyter_ext.runner.agent import Agent
from jupyter_ext.runner.api import JobServerAPI
from jupyter_ext.runner.executors import LocalExecutor

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer, make_repo


class RunnerThread:
    """An agent on its own event loop, as `jupyter ext runner` would run it."""

    def __init__(
        self, world, workdir, log_cap: int = 100_000, executor=None, token=None, **options
    ) -> None:
        self.loop = asyncio.new_event_loop()
        root = world.base_url.removesuffix("/api/v1/")
        self.api = JobServerAPI(root, token or world.runner_token)  # another backend's: `token`
        self.agent = Agent(
            self.api,
            executor or LocalExecutor(),
            workdir,
            capacity=2,
            heartbeat_every=0.5,
            log_cap=log_cap,
            **options,
        )
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.task = self.loop.create_task(self.agent.run_forever(poll_wait=1))
        with contextlib.suppress(asyncio.CancelledError):
            self.loop.run_until_complete(self.task)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(10)
        self.loop.run_until_complete(self.api.close())
        self.loop.close()
        # a job still running when its runner stops keeps its folder's disk mounted for the
        # next runner to follow on; no runner follows a test's on, so its disks go now
        self.agent.folders.sweep(set())


def wait_for(world, request_id: str, timeout: float = 60) -> dict:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        request = world.client("dev").get(f"job-requests/{request_id}").json()
        if request["state"] in ("succeeded", "failed", "cancelled"):
            return request
        time.sleep(0.2)
    raise AssertionError(f"the job request did not finish: {request}")


def wait_for_log(world, identifier: str, text: str, timeout: float = 60) -> None:
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lines = world.client("dev").get(f"jobs/{identifier}/logs").json()
        if text in [line["text"] for line in lines]:
            return
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never reached the log of {identifier}")


def test_the_sample_project_runs_with_its_outputs_recorded(tmp_path):
    world = build_world(JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path), tmp_path)
    try:
        with RunnerThread(world, tmp_path / "site"):
            request = (
                world.client("dev")
                .post(
                    "job-requests",
                    json={"workspace": "sample", "backend": "tpp", "actions": ["make_table"]},
                )
                .json()
            )
            done = wait_for(world, request["id"])
        assert [j["state"] for j in done["jobs"]] == ["succeeded"] * 3, done["jobs"]
        table = done["jobs"][-1]
        logs = world.client("dev").get(f"jobs/{table['identifier']}/logs").json()
        assert logs and all(line["seq"] == i for i, line in enumerate(logs))
        with world.factory() as session:
            from sqlalchemy import select

            from jupyter_ext.jobserver import orm

            outputs = {o.path: o.privacy_level for o in session.scalars(select(orm.JobOutput))}
        assert outputs["output/dataset.csv"] == "highly_sensitive"
        assert outputs["output/table_by_region.csv"] == "moderately_sensitive"
        assert (tmp_path / "site" / "workspaces" / "sample" / "output" / "dataset.csv").exists()
    finally:
        world.close()


FAULTS = {
    "project.yaml": """version: "5"
actions:
  fails:
    run: python:v2 fail.py
    outputs: {highly_sensitive: {x: out/fails.csv}}
  lazy:
    run: python:v2 lazy.py
    outputs: {moderately_sensitive: {table: out/table.csv}}
  sleeper:
    run: python:v2 sleeper.py
    outputs: {highly_sensitive: {x: out/sleep.csv}}
  chatty:
    run: python:v2 chatty.py
    outputs: {highly_sensitive: {x: out/chatty.csv}}
  escapes:
    run: python:v2 escapes.py
    outputs: {moderately_sensitive: {x: out/secret.csv}}
  steady:
    run: python:v2 steady.py
    outputs: {highly_sensitive: {x: out/steady.csv}}
  unknown_image:
    run: stata-mp:v1 analysis.do
    outputs: {highly_sensitive: {x: out/stata.csv}}
""",
    "fail.py": "import sys\nprint('about to fail')\nsys.exit(3)\n",
    "lazy.py": "print('wrote nothing')\n",
    "sleeper.py": "import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n",
    "chatty.py": (
        "import pathlib\nfor i in range(5000):\n    print(i)\n"
        "pathlib.Path('out').mkdir()\npathlib.Path('out/chatty.csv').write_text('x')\n"
    ),
    "steady.py": (
        "import pathlib, time\nfor i in range(40):\n    print(f'line {i}', flush=True)\n"
        "    time.sleep(0.1)\n"
        "pathlib.Path('out').mkdir()\npathlib.Path('out/steady.csv').write_text('x')\n"
    ),
    "escapes.py": "import os\nos.makedirs('out')\nos.symlink('/etc/passwd', 'out/secret.csv')\n",
}


def faults_world(tmp_path):
    """The usual world, plus a workspace `faults` whose actions misbehave (FAULTS)."""
    source = tmp_path / "faults-src"
    source.mkdir()
    for name, text in FAULTS.items():
        (source / name).write_text(text)
    world = build_world(JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path), tmp_path)
    make_repo(tmp_path / "repos" / "faults", source)
    world.workspace("sample-study", "faults", tmp_path / "repos" / "faults")
    return world


def test_faults_end_with_a_clear_status(tmp_path):
    world = faults_world(tmp_path)
    dev = world.client("dev")

    def submit(action):
        return dev.post(
            "job-requests", json={"workspace": "faults", "backend": "tpp", "actions": [action]}
        ).json()

    try:
        with RunnerThread(world, tmp_path / "site", log_cap=1000):
            failed = wait_for(world, submit("fails")["id"])["jobs"][0]
            lazy = wait_for(world, submit("lazy")["id"])["jobs"][0]
            unknown = wait_for(world, submit("unknown_image")["id"])["jobs"][0]
            chatty = wait_for(world, submit("chatty")["id"])["jobs"][0]
            escapes = wait_for(world, submit("escapes")["id"])["jobs"][0]
            sleeper = submit("sleeper")
            ident = sleeper["jobs"][0]["identifier"]
            wait_for_log(world, ident, "sleeping")
            dev.post(f"jobs/{ident}/cancel")
            cancelled = wait_for(world, sleeper["id"])["jobs"][0]
        assert (failed["state"], failed["exit_code"], failed["status_message"]) == (
            "failed",
            3,
            "exit code 3",
        )
        assert dev.get(f"jobs/{failed['identifier']}/logs").json()[0]["text"] == "about to fail"
        assert lazy["state"] == "failed"
        assert "declared outputs were not produced: out/table.csv" in lazy["status_message"]
        assert unknown["state"] == "failed" and "has no local command" in unknown["status_message"]
        assert cancelled["state"] == "cancelled" and cancelled["cancelled_by"] == "dev"
        # a log past the cap: the first lines leave the site, with a note; all stay on it
        shipped = dev.get(f"jobs/{chatty['identifier']}/logs", params={"limit": 10000}).json()
        assert chatty["state"] == "succeeded" and len(shipped) == 1001
        assert shipped[-1]["text"].startswith("[log capped at 1000 lines")
        on_site = (tmp_path / "site" / "logs" / f"{chatty['identifier']}.log").read_text()
        assert on_site.splitlines()[-1] == "4999"
        # an output that is a link out of the workspace is never taken
        assert escapes["state"] == "failed" and "out/secret.csv" in escapes["status_message"]
    finally:
        world.close()


def test_the_job_server_going_away_loses_no_line_and_repeats_none(tmp_path):
    import time

    world = faults_world(tmp_path)
    dev = world.client("dev")
    try:
        with RunnerThread(world, tmp_path / "site"):
            request = dev.post(
                "job-requests",
                json={"workspace": "faults", "backend": "tpp", "actions": ["steady"]},
            ).json()
            ident = request["jobs"][0]["identifier"]
            wait_for_log(world, ident, "line 5")
            port = world.stop()  # the job server goes away while the job runs
            time.sleep(2)
            world.start(port)
            done = wait_for(world, request["id"])["jobs"][0]
        assert done["state"] == "succeeded", done
        lines = dev.get(f"jobs/{ident}/logs").json()
        assert [line["text"] for line in lines] == [f"line {i}" for i in range(40)]
        assert [line["seq"] for line in lines] == list(range(40))
    finally:
        world.close()


def submit(world, workspace: str, action: str) -> dict:
    body = {"workspace": workspace, "backend": "tpp", "actions": [action]}
    return world.client("dev").post("job-requests", json=body).json()


def test_time_limit_log_policy_and_a_vanished_repository(tmp_path):
    import shutil

    from jupyter_ext.runner.policy import LogPolicy

    world = faults_world(tmp_path)
    dev = world.client("dev")
    policy = LogPolicy("full", [r"line 1\d"])
    try:
        with RunnerThread(world, tmp_path / "site0", executor=LocalExecutor(time_limit=1)):
            slow = wait_for(world, submit(world, "faults", "sleeper")["id"])["jobs"][0]
        with RunnerThread(world, tmp_path / "site", log_policy=policy):
            steady = wait_for(world, submit(world, "faults", "steady")["id"])["jobs"][0]
        with RunnerThread(world, tmp_path / "site2", log_policy=LogPolicy("status")):
            quiet = wait_for(world, submit(world, "faults", "fails")["id"])["jobs"][0]
        request = submit(world, "faults", "lazy")  # no runner is polling now
        shutil.rmtree(tmp_path / "repos" / "faults")  # gone between submit and checkout
        with RunnerThread(world, tmp_path / "site3"):
            gone = wait_for(world, request["id"])["jobs"][0]
        texts = [line["text"] for line in dev.get(f"jobs/{steady['identifier']}/logs").json()]
        quiet_lines = dev.get(f"jobs/{quiet['identifier']}/logs").json()
    finally:
        world.close()
    assert slow["state"] == "failed" and "limit of 1 s" in slow["status_message"]
    # redaction applies to what leaves; the site keeps what was printed
    assert "line 9" in texts and "line 12" not in texts and "[redacted]" in texts
    on_site = (tmp_path / "site" / "logs" / f"{steady['identifier']}.log").read_text()
    assert "line 12" in on_site
    # a backend whose policy is status: only the state and the runner's own words leave (the
    # exit code is the job's choice: a channel around the policy)
    assert quiet["status_message"] == "the action failed: its exit code and log stay on the site"
    assert quiet["exit_code"] is None
    assert quiet_lines == []
    assert gone["state"] == "failed" and gone["status_message"].startswith("checkout failed")
