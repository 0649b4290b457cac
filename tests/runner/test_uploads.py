"""Released files leave the site: the runner uploads what was published, checked, resumably.

A real runner against the real job server: the sample project runs, its table
is requested, reviewed twice and published, and the runner sends it from the
workspace folder on the site on a heartbeat. A file that changed on the site
since it was frozen, or that now leads out of the workspace, is never sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from pathlib import Path

import httpx

from jupyter_ext import schema
from jupyter_ext.runner.api import JobServerAPI
from jupyter_ext.runner.uploads import Uploader

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer
from ..jobserver.mocking import MockJobServerApp
from ..jobserver.test_release_upload_resume import CONTENT, published_file
from .test_local_runner import RunnerThread, wait_for

TABLE, PLOT = "output/table_by_region.csv", "output/plot_rates.svg"


def world_at(tmp_path):
    settings = MockJobServerApp(release_dir=str(tmp_path / "releases"))
    return build_world(
        JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path, settings), tmp_path
    )


def run(world, actions: list[str]) -> dict[str, str]:
    """Actions of the sample project, run on the site: their jobs' identifiers by action."""
    request = world.client("dev").post(
        "job-requests", json={"workspace": "sample", "backend": "tpp", "actions": actions}
    )
    done = wait_for(world, request.json()["id"])
    assert {j["state"] for j in done["jobs"]} == {"succeeded"}, done["jobs"]
    return {j["action"]: j["identifier"] for j in done["jobs"]}


def request_release(world, files: list[tuple[str, str]]) -> dict:
    """A release of (job, path) files, approved by two output checkers: {path: file id}."""
    group = {
        "context": "counts by region",
        "disclosure_control": "rounded to 5",
        "files": [{"job": job, "path": path} for job, path in files],
    }
    created = world.client("dev").post(
        "releases", json={"workspace": "sample", "backend": "tpp", "groups": {"g": group}}
    )
    assert created.status_code == 201, created.text
    release = created.json()
    for name in ("checker1", "checker2"):
        world.user(name, ["output_checker"])
        for f in release["files"]:
            vote = f"releases/{release['id']}/files/{f['id']}/reviews"
            assert world.client(name).post(vote, json={"decision": "approve"}).status_code == 201
    world.release_id = release["id"]
    return {f["path"]: f["id"] for f in release["files"]}


def publish(world) -> None:
    world.user("publisher", ["output_publisher"])
    published = world.client("publisher").post(f"releases/{world.release_id}/publish")
    assert published.status_code == 200, published.text


def served(world, file_id: str) -> httpx.Response:
    url = f"{world.base_url.removesuffix('api/v1/')}api/v2/releases/file/{file_id}"
    return world.client("collab").get(url)


def wait_served(world, file_id: str, timeout: float = 30) -> bytes:
    deadline = time.monotonic() + timeout
    while (response := served(world, file_id)).status_code == 409:
        assert time.monotonic() < deadline, "the runner never uploaded the file"
        time.sleep(0.2)
    assert response.status_code == 200, response.text
    return response.content


def test_a_published_file_goes_from_the_site_to_the_job_server(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="jupyter_ext.runner.uploads")
    world = world_at(tmp_path)
    site = tmp_path / "site"
    try:
        with RunnerThread(world, site):
            jobs = run(world, ["make_table"])
            (file_id,) = request_release(world, [(jobs["make_table"], TABLE)]).values()
            on_site = (site / "workspaces" / "sample" / TABLE).read_bytes()
            # an earlier upload broke off after 10 bytes: the runner goes on from there
            partial = tmp_path / "releases" / "partial" / file_id
            partial.parent.mkdir(parents=True)
            partial.write_bytes(on_site[:10])
            assert served(world, file_id).status_code == 409  # not published: not sent
            publish(world)
            assert wait_served(world, file_id) == on_site
        assert f"release file {TABLE} uploaded (from byte 10)" in caplog.text
        assert not partial.exists()
        stored = tmp_path / "releases" / hashlib.sha256(on_site).hexdigest()[:2]
        assert [p.read_bytes() for p in stored.iterdir()] == [on_site]
    finally:
        world.close()


def test_the_frozen_bytes_leave_from_the_sites_store_and_tampered_ones_never(tmp_path, caplog):
    """The site sends what its own record says the job made, from its store: an edit of the
    workspace folder's copy does not leave, and bytes changed in the store are refused."""
    from .test_release_rules import listed_for_upload, refusals, wait_refused

    world = world_at(tmp_path)
    site = tmp_path / "site"
    space = site / "workspaces" / "sample"
    try:
        with RunnerThread(world, site):
            jobs = run(world, ["make_table", "make_plot"])
            ids = request_release(world, [(jobs["make_table"], TABLE), (jobs["make_plot"], PLOT)])
            frozen_table = (space / TABLE).read_bytes()
            edited = space / "edited.csv"  # an edit saved over the copy (a new file, renamed)
            edited.write_bytes(frozen_table + b"edited,after,freezing\n")
            edited.replace(space / TABLE)
            plot_sha = hashlib.sha256((space / PLOT).read_bytes()).hexdigest()
            kept = site / "store" / plot_sha[:2] / plot_sha
            kept.chmod(0o644)
            kept.write_bytes(kept.read_bytes() + b" ")
            publish(world)
            assert wait_served(world, ids[TABLE]) == frozen_table  # as reviewed, not as edited
            reason = wait_refused(world, ids[PLOT])
            assert listed_for_upload(world) == []  # later heartbeats no longer ask for it
        assert reason == "its bytes in the site's store have changed"
        assert served(world, ids[PLOT]).status_code == 409
        (event,) = refusals(world)
        assert (event["actor"], event["target_id"]) == ("runner:tpp", ids[PLOT])
        assert str(tmp_path) not in reason  # the site's folders stay on the site
    finally:
        world.close()


def test_the_site_sends_only_what_it_recorded_as_moderately_sensitive(tmp_path):
    """Whatever a job server lists, a highly sensitive output or a file the site never
    recorded does not leave; a job without a site record is judged by the workspace's copy."""
    world = world_at(tmp_path)
    site = tmp_path / "site"
    space = site / "workspaces" / "sample"
    try:
        with RunnerThread(world, site):
            jobs = run(world, ["make_table"])
        dataset = "output/dataset.csv"
        uploader = Uploader(None, site / "workspaces", site=site)

        def listed(job: str, path: str, data: bytes) -> schema.ReleaseUpload:
            return schema.ReleaseUpload(
                file="01F",
                job=job,
                workspace="sample",
                path=path,
                sha256=hashlib.sha256(data).hexdigest(),
                size=len(data),
            )

        sensitive = listed(jobs["generate_dataset"], dataset, (space / dataset).read_bytes())
        problem, _ = uploader.check(sensitive)
        assert problem == (
            "the site recorded it as highly_sensitive: only moderately sensitive outputs leave"
        )
        forged = listed(jobs["make_table"], TABLE, b"not what the job made")
        assert "the site recorded no output" in uploader.check(forged)[0]
        # no record of the job on the site: the workspace's copy must be the frozen one
        table = (space / TABLE).read_bytes()
        legacy = Uploader(None, site / "workspaces")
        assert legacy.check(listed("old", TABLE, table)) == (None, (space / TABLE).resolve())
        outside = tmp_path / "elsewhere.csv"
        outside.write_bytes(table)
        (space / TABLE).unlink()
        (space / TABLE).symlink_to(outside)
        assert legacy.check(listed("old", TABLE, table))[0] == (
            "it leads out of the workspace folder on the site"
        )
    finally:
        world.close()


class BreaksOffOnce(JobServerAPI):
    """The line to the job server goes down once, halfway through the first upload."""

    broke = False

    async def upload_release_file(
        self, file_id: str, path: Path, start: int, size: int, purpose: str = "release"
    ) -> None:
        if self.broke:
            return await super().upload_release_file(file_id, path, start, size, purpose)
        self.broke = True

        async def half():
            yield path.read_bytes()[: size // 2]
            await asyncio.sleep(0.3)  # the server takes them in
            raise httpx.WriteError("the line to the job server went down")

        await self.http.put(f"release-files/{file_id}", content=half())


def test_an_upload_broken_off_goes_on_from_the_bytes_the_server_holds(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="jupyter_ext.runner.uploads")
    world = world_at(tmp_path)
    try:
        # bytes of no table: an image, which the site's rules judge by name and size only
        file_id = published_file(world, CONTENT, "output/big.png")
        (tmp_path / "site" / "sample" / "output").mkdir(parents=True)
        (tmp_path / "site" / "sample" / "output" / "big.png").write_bytes(CONTENT)
        beat = {"version": "t", "executor": "local", "capacity": 0}
        reply = world.client(token=world.runner_token).post("runner/heartbeat", json=beat)
        uploads = schema.HeartbeatReply.model_validate(reply.json()).uploads

        async def upload() -> None:
            api = BreaksOffOnce(world.base_url.removesuffix("/api/v1/"), world.runner_token)
            uploader = Uploader(api, tmp_path / "site")
            uploader.backoff = 0.1
            uploader.want(uploads)
            uploader.want(uploads)  # a second heartbeat's list starts nothing new
            assert len(uploader.tasks) == 1
            await asyncio.gather(*uploader.tasks.values())
            assert uploader.done == {("release", file_id)}
            await uploader.close()
            await api.close()

        asyncio.run(upload())
        assert wait_served(world, file_id, timeout=1) == CONTENT
        assert "broke off" in caplog.text
        assert f"release file output/big.png uploaded (from byte {len(CONTENT) // 2})" in (
            caplog.text
        )
    finally:
        world.close()
