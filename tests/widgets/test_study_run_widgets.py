"""A study run at two sites from the widgets, driven by clicks: picked in ActionPicker, its
grid followed live in JobMonitor with a real runner (local executor) per site, a site's log,
one site cancelled, every site's released outputs collected. Real job server throughout."""

from __future__ import annotations

import pytest

from jupyter_ext.client import Client, StudyRun
from jupyter_ext.widgets import ActionPicker, JobMonitor

from ..client.test_study_run_client import SITES, released_at_each_site, wait_for_uploads
from ..jobserver.test_study_runs import two_sites
from ..runner.test_local_runner import RunnerThread
from ..runner.test_uploads import TABLE, world_at


@pytest.fixture
def world(tmp_path):
    world = world_at(tmp_path)
    made = []

    def connect(username: str) -> Client:
        root = world.base_url.removesuffix("api/v1/")
        made.append(Client(root, token=world.tokens[username], workspace="sample"))
        return made[-1]

    world.connect = connect
    yield world
    for client in made:
        client.close()
    world.close()


def test_a_run_at_two_sites_picked_followed_live_and_collected(world, tmp_path):
    tokens = two_sites(world)
    dev = world.connect("dev")
    picker = ActionPicker(client=dev)
    assert set(SITES) <= set(picker.backends)
    picker.checks["make_table"].value = True
    for box in picker.backends.values():
        box.value = False
    assert picker.run() is None  # none chosen: the job server's sentence, as any refusal
    assert "The job server said: name at least one backend" in picker.message.value
    for site in SITES:
        picker.backends[site].value = True
    assert "Backends: north, south" in repr(picker)

    with (
        RunnerThread(world, tmp_path / "north", token=tokens["north"]),
        RunnerThread(world, tmp_path / "south", token=tokens["south"]),
    ):
        run = picker.run()
        assert isinstance(run, StudyRun) and "Study run" in picker.message.value
        monitor = picker.monitor
        done = monitor.wait(120)  # the feed ends once every site's jobs have finished
        assert done.grid["make_table"] == {"north": "succeeded", "south": "succeeded"}
        assert monitor.progress.value == monitor.progress.max == 6
        assert monitor.progress.bar_style == "success"
        assert '<th scope="col">north</th><th scope="col">south</th>' in monitor.table.value
        assert all(b.disabled for b in monitor.sites.cancel_buttons.values())

        sites = monitor.sites
        sites.site.value = "south"
        job = run.site("south").job_request.jobs[-1]
        sites.job.value = job.identifier  # its log, live (complete: the job has finished)
        assert sites.log_view.wait(30) == [str(line) for line in dev.jobs.logs(job.identifier)]

        sites.folder.value = str(tmp_path / "early")
        sites.collect_button.click()
        assert sites.collected.value.count("request a release of its outputs") == 2

        released_at_each_site(world, world.connect, run)
        assert wait_for_uploads(run, tmp_path / "uploaded").complete
    sites.folder.value = str(tmp_path / "collected")
    sites.collect_button.click()
    for site in SITES:
        assert (tmp_path / "collected" / site / TABLE).is_file()
        assert f"<b>{site}</b>: 1 file(s) written: <code>{site}/{TABLE}</code>" in (
            sites.collected.value
        )
    assert "missing" not in sites.collected.value


def test_cancel_one_site_then_all(world):
    two_sites(world)
    dev = world.connect("dev")
    run = dev.runs.create(actions=["generate_dataset"], backends=SITES)
    monitor = JobMonitor(run.id, client=dev)  # an id: of a study run, not a job request
    sites = monitor.sites
    assert monitor.run.id == run.id and not monitor.finished
    assert "waiting for north: never seen" in sites.states["north"].value

    sites.cancel_buttons["south"].click()
    assert [s.state for s in monitor.run.sites] == ["pending", "cancelled"]
    assert sites.cancel_buttons["south"].disabled and not sites.cancel_buttons["north"].disabled
    assert sites.cancel("south") is None and "nothing to cancel at south" in sites.message.value

    sites.cancel_all.click()
    assert monitor.wait(30).state == "cancelled"  # followed live: the feed saw it and ended
    assert not monitor.feed.running and sites.cancel_all.disabled
    assert "cancelled" in repr(monitor)
