"""A study at two sites from the client: one submission, one wait, each site's outputs
reviewed by its own checker, then collected with their provenance. Real job server and a
real runner (local executor) per site."""

from __future__ import annotations

import asyncio
import hashlib
import json

import pytest

from jupyter_ext.client import AsyncClient, Collected, StudyRun, WaitTimeout

from ..jobserver.test_study_runs import two_sites
from ..runner.test_local_runner import RunnerThread
from .conftest import root

TABLE = "output/table_by_region.csv"
SITES = ["north", "south"]


def released_at_each_site(world, connect, run: StudyRun) -> None:
    """Each site's table asked for, reviewed by that site's checker and the global one, and
    published: the sites' runners then send the bytes."""
    for site in SITES:
        world.user(f"{site}-checker")
        world.client("admin").put(
            f"backends/{site}/members/{site}-checker", json={"roles": ["output_checker"]}
        ).raise_for_status()
    world.user("checker", ["output_checker"])
    world.user("publisher", ["output_publisher"])
    dev = connect("dev")
    for site in SITES:
        job = next(j for j in run.site(site).job_request.jobs if j.action == "make_table")
        group = {
            "context": "counts by region",
            "disclosure_control": "rounded to 5, under 7 suppressed",
            "files": [{"job": job.identifier, "path": TABLE}],
        }
        release = dev.releases.create("sample", backend=site, groups={"tables": group})
        (file,) = release.files
        for checker in (f"{site}-checker", "checker"):
            connect(checker).releases.review(release, file, "approve", comment="fine")
        assert connect("publisher").releases.publish(release.id).state == "released"


def test_one_submission_one_wait_and_every_sites_outputs_collected(
    world, connect, tmp_path, capsys
):
    tokens = two_sites(world)
    dev = connect("dev")
    run = dev.runs.create("sample", actions=["make_table"], backends=SITES)
    assert isinstance(run, StudyRun) and [s.backend for s in run.sites] == SITES
    with pytest.raises(WaitTimeout, match=f"the study run {run.id} has not finished"):
        run.wait(timeout=0.5, progress=False)  # no runner at either site yet
    capsys.readouterr()
    assert "waiting for north: never seen" in repr(run.refresh())

    with (
        RunnerThread(world, tmp_path / "north", token=tokens["north"]),
        RunnerThread(world, tmp_path / "south", token=tokens["south"]),
    ):
        assert run.wait() is run  # updated in place
        bar = capsys.readouterr().err
        assert "north, south" in bar and "6/6" in bar and "6 succeeded" in bar
        assert run.state == "succeeded"
        assert run.grid["make_table"] == {"north": "succeeded", "south": "succeeded"}
        nothing = run.collect(tmp_path / "early")
        assert nothing.files == [] and set(nothing.missing) == set(SITES)
        assert "request a release of its outputs" in nothing.missing["north"]

        released_at_each_site(world, connect, run)
        collected = wait_for_uploads(run, tmp_path / "collected")

    assert isinstance(collected, Collected) and collected.complete
    assert [f.path for f in collected.files] == [f"{s}/{TABLE}" for s in SITES]
    for file in collected.files:
        data = (tmp_path / "collected" / file.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == file.sha256
        assert file.provenance[0]["job"] == file.job and file.action == "make_table"
        assert file.provenance[0]["provenance"]["commit"] == run.sha
    manifest = json.loads((tmp_path / "collected" / "manifest.json").read_text())
    assert manifest["run"] == run.id and manifest["sites"] == SITES
    assert [f["site"] for f in manifest["files"]] == SITES
    assert [f["release"] for f in manifest["files"]] == [f.release for f in collected.files]

    async def collect_async():
        async with AsyncClient(root(world), token=world.tokens["dev"]) as client:
            return await (await client.runs.get(run.id)).collect(tmp_path / "async")

    again = asyncio.run(collect_async())
    assert [f.sha256 for f in again.files] == [f.sha256 for f in collected.files]


def wait_for_uploads(run: StudyRun, folder, timeout: float = 30) -> Collected:
    """Collect once every site's runner has sent its released file (at its next heartbeat)."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        collected = run.collect(folder)
        if collected.complete or time.monotonic() > deadline:
            return collected
        time.sleep(0.3)


def test_a_hostile_job_servers_paths_never_leave_the_collection(tmp_path):
    """The job server names the sites and the files' paths: none may lead out of the folder,
    and a refused plan writes nothing."""
    from jupyter_ext.client import ClientError
    from jupyter_ext.client.collect import plan
    from jupyter_ext.client.models import Release

    def run_at(backend: str) -> StudyRun:
        job = {
            "identifier": "j1",
            "job_request": "r1",
            "workspace": "w",
            "backend": backend,
            "action": "a",
            "state": "succeeded",
            "created_at": "2026-12-06T00:00:00Z",
        }
        request = {
            "id": "r1",
            "workspace": "w",
            "project": "p",
            "backend": backend,
            "sha": "0" * 40,
            "actions": ["a"],
            "force_run_dependencies": False,
            "notify": False,
            "state": "succeeded",
            "created_by": "dev",
            "created_at": "2026-12-06T00:00:00Z",
            "jobs": [job],
        }
        site = {"backend": backend, "state": "succeeded", "online": True, "job_request": request}
        return StudyRun.model_validate(
            {
                **{k: request[k] for k in ("workspace", "project", "sha", "actions")},
                "id": "run1",
                "force_run_dependencies": False,
                "notify": False,
                "state": "succeeded",
                "summary": "",
                "created_by": "dev",
                "created_at": "2026-12-06T00:00:00Z",
                "sites": [site],
            }
        )

    def released(backend: str, path: str) -> Release:
        file = {
            "id": "f1",
            "group": "g",
            "path": path,
            "job": "j1",
            "sha256": "1" * 64,
            "size": 1,
            "state": "released",
            "uploaded": True,
        }
        return Release.model_validate(
            {
                "id": "rel1",
                "workspace": "w",
                "backend": backend,
                "state": "released",
                "groups": {},
                "created_by": "dev",
                "created_at": "2026-12-06T00:00:00Z",
                "files": [file],
            }
        )

    folder = tmp_path / "collected"
    for backend, path in (
        ("north", "../../escaped.csv"),
        ("north", "/etc/passwd"),
        ("north", "output\\..\\..\\x.csv"),
        ("..", "output/table.csv"),
    ):
        with pytest.raises(ClientError, match="not a path inside the collection"):
            plan(run_at(backend), {backend: [released(backend, path)]}, folder)
    assert not folder.exists() and list(tmp_path.iterdir()) == []
