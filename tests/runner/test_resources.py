"""Resources per action, on the runner's side: an executor's defaults and maximums, reported
with each heartbeat; a lease asking for more is refused before anything runs; what a job
asked for is what it runs with (Docker's and Slurm's figures: test_docker_executor.py and
test_slurm_executor.py).

The job server here is the hostile one of tests/security (an HTTP fake that hands out the
leases a test writes and records what the runner says); the runner is the real agent.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from pathlib import Path
from types import SimpleNamespace

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse
from traitlets.config import Config

from jupyter_ext import schema
from jupyter_ext.runner.app import ExecutorCannotStart, RunnerApp
from jupyter_ext.runner.executors import LocalExecutor
from jupyter_ext.runner.executors.base import JobSpec, timed_out
from jupyter_ext.runner.job_spec import job_spec
from jupyter_ext.runner.journal import Journal
from jupyter_ext.schema import JobResources

from ..jobserver.harness import git
from ..security.test_hostile_jobserver import FakeJobServer
from .test_local_runner import RunnerThread

TOO_MUCH = "refused by the runner: the action asks for more than this backend allows: "


class HeardJobServer(FakeJobServer):
    """The hostile job server, keeping each heartbeat the runner sends."""

    def __init__(self) -> None:
        self.beats: list[dict] = []
        super().__init__()

    async def heartbeat(self, request: Request) -> JSONResponse:
        self.beats.append(await request.json())
        return JSONResponse({"cancel": [], "uploads": [], "log_policy": self.log_policy})


def repository(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "say.py").write_text("print('it ran', flush=True)\n")
    (repo / "sleep.py").write_text("import time\nprint('up', flush=True)\ntime.sleep(60)\n")
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "jobs")
    return repo, git(repo, "rev-parse", "HEAD")


def lease(repo, sha: str, **fields) -> dict:
    expires = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    return {
        "identifier": secrets.token_hex(8),
        "job_request": "01JREQUEST",
        "workspace": "w",
        "action": "say",
        "repo": str(repo),
        "sha": sha,
        "run": "python:v2 say.py",
        "needs": [],
        "wait_for": [],
        "outputs": {},
        "datasets": [],
        "lease_expires_at": expires.isoformat(),
        **fields,
    }


def runner(server: FakeJobServer, site, executor) -> RunnerThread:
    """The real agent, in a thread, polling the fake job server."""
    world = SimpleNamespace(base_url=f"{server.url}/api/v1/", runner_token="jxr_not-checked")
    return RunnerThread(world, site, executor=executor)


def local_spec(tmp_path, program: str, resources: JobResources | None = None) -> JobSpec:
    workdir = tmp_path / "job"
    workdir.mkdir()
    (workdir / "main.py").write_text(program)
    return JobSpec(
        identifier="tlocal",
        image="python",
        args=["main.py"],
        workdir=workdir,
        env={"LANG": "C.UTF-8"},
        scratch=tmp_path / "scratch",
        resources=resources,
    )


def test_the_maximums_are_the_defaults_unless_the_site_raises_them():
    plain = LocalExecutor(cpus=1, memory_mb=4096, time_limit=600).resource_limits()
    assert plain.default == plain.maximum == JobResources(cpus=1, memory_mb=4096, time_limit=600)
    assert plain.over(JobResources(cpus=0.5, time_limit=60)) == []  # less is fine
    assert plain.over(JobResources(cpus=2)) == ["CPUs 2 (at most 1)"]

    site = LocalExecutor(max_cpus=4, max_memory_mb=16384, max_time_limit=86400)
    most = JobResources(cpus=4, memory_mb=16384, time_limit=86400)
    assert site.resource_limits().maximum == most
    asked = local_spec_like(JobResources(cpus=2))
    assert site.applied(asked) == JobResources(cpus=2, memory_mb=4096, time_limit=6 * 3600)
    assert site.applied(local_spec_like(None)) == site.resource_limits().default
    assert site.describe()["resources"] == (
        "1 CPU, 4 GB, 6 h by default; an action may ask for up to 4 CPUs, 16 GB, 24 h"
    )


def local_spec_like(resources: JobResources | None) -> JobSpec:
    return JobSpec("t", "python", [], Path(), {}, resources=resources)


@pytest.mark.parametrize(
    "traits, sentence",
    [
        (
            {"max_cpus": 0.5},
            "c.LocalExecutor.max_cpus (0.5) is below c.LocalExecutor.cpus (1), what a job gets "
            "unasked: raise it, or set it to 0 to let actions ask for no more than that",
        ),
        ({"time_limit": 0}, "c.LocalExecutor.time_limit = 0.0 cannot be: input should be"),
        ({"memory_mb": 8}, "c.LocalExecutor.memory_mb = 8 cannot be: input should be"),
        ({"max_memory_mb": 1 << 40}, "c.LocalExecutor.max_memory_mb = 1099511627776 cannot be"),
    ],
)
def test_limits_that_cannot_hold_stop_the_runner_saying_which(traits, sentence):
    config = Config({"LocalExecutor": traits})
    with pytest.raises(ExecutorCannotStart) as refused:
        RunnerApp(config=config).start_executor()
    assert str(refused.value).startswith("the local executor cannot start: ")
    assert sentence in str(refused.value)


def test_a_restarted_runner_rebuilds_the_spec_with_what_the_action_asked_for(tmp_path):
    asked = JobResources(cpus=2, memory_mb=512, time_limit=90)
    leased = schema.Lease.model_validate(lease("https://example.org/r", "0" * 40, resources=asked))
    journal = Journal(tmp_path / "journal")
    journal.start(leased)
    [(again, final)] = journal.entries()  # as the next runner process reads it
    assert final is None and again.resources == asked
    spec = job_spec(again, tmp_path / "job", tmp_path / "scratch", {})
    assert spec.resources == asked


def test_the_local_executor_stops_a_job_at_the_time_limit_its_action_asked_for(tmp_path):
    spec = local_spec(tmp_path, "import time\ntime.sleep(60)\n", JobResources(time_limit=1))
    executor = LocalExecutor(grace=0.2)  # its default: six hours
    execution = asyncio.run(executor.run(spec, [].append))
    assert execution.timed_out and execution.message == timed_out(1)


def test_the_runner_reports_its_limits_and_runs_a_job_with_the_time_limit_it_asked(tmp_path):
    repo, sha = repository(tmp_path)
    executor = LocalExecutor(grace=0.2, max_cpus=2, max_memory_mb=8192)
    sleeper = lease(repo, sha, action="sleep", run="python:v2 sleep.py")
    sleeper["resources"] = {"time_limit": 1, "cpus": 2}
    with HeardJobServer() as server, runner(server, tmp_path / "site", executor):
        end = server.run(sleeper)
    assert end["state"] == "failed"
    assert end["status_message"] == "stopped: it ran longer than its limit of 1 s"
    assert server.logs[sleeper["identifier"]] == ["up"]
    limits = executor.resource_limits().model_dump(mode="json")
    assert server.beats and all(beat["resource_limits"] == limits for beat in server.beats)
    assert limits["maximum"] == {"cpus": 2.0, "memory_mb": 8192, "time_limit": 6 * 3600.0}


def executor_of(kind: str, request):
    if kind == "docker":
        request.getfixturevalue("docker_images")
        from jupyter_ext.runner.executors.docker import DockerExecutor

        return DockerExecutor()
    if kind == "slurm":
        from .test_slurm_executor import new_executor

        return new_executor(request.getfixturevalue("slurm_cluster"))
    return LocalExecutor()


@pytest.mark.parametrize("kind", ["local", "docker", "slurm"])
def test_a_lease_asking_more_than_the_maximum_is_refused_and_nothing_runs(kind, tmp_path, request):
    executor = executor_of(kind, request)
    repo, sha = repository(tmp_path)
    greedy = lease(repo, sha, resources={"cpus": 8, "memory_mb": 65536})
    site = tmp_path / "site"
    with HeardJobServer() as server, runner(server, site, executor):
        end = server.run(greedy)
    ident = greedy["identifier"]
    assert end["state"] == "failed" and end["status_message"].startswith(TOO_MUCH), end
    assert "CPUs 8 (at most 1); memory 64 GB (at most " in end["status_message"]
    assert server.logs.get(ident, []) == []  # it never printed its line
    assert not list((site / "journal").iterdir())  # nothing of it written, nothing checked out
    assert not (site / "jobs" / ident).exists() and not (site / "repos").exists()
    if kind == "docker":
        assert not executor.docker.containers.list(all=True, filters={"name": ident})
    if kind == "slurm":
        cluster = request.getfixturevalue("slurm_cluster")
        named = f"jupyter-ext-{ident}"
        assert cluster.run("squeue", "-h", "--states=all", "--name", named).stdout.strip() == ""
