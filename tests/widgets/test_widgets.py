"""The widgets against the real job server and runner, driven as a learner's clicks would."""

from __future__ import annotations

import pytest

from jupyter_ext.client import Client
from jupyter_ext.widgets import ActionPicker, JobMonitor, LogView, ReleaseBrowser

from ..runner.test_local_runner import RunnerThread
from ..runner.test_uploads import TABLE, publish, request_release, run, wait_served, world_at


@pytest.fixture
def world(tmp_path):
    world = world_at(tmp_path)
    token = world.client("dev").headers["Authorization"].removeprefix("Bearer ")
    world.dev = Client(world.base_url.removesuffix("api/v1/"), token=token, workspace="sample")
    yield world
    world.dev.close()
    world.close()


def test_pick_an_action_run_it_and_watch_it_finish(world, tmp_path):
    picker = ActionPicker(client=world.dev)
    assert list(picker.checks)[:2] == ["generate_dataset", "derive_measures"]
    assert picker.chosen_backends == ["tpp"]
    assert picker.run() is None and "Check at least one action" in picker.message.value
    picker.checks["derive_measures"].value = True
    assert "[x] derive_measures" in repr(picker)  # the text form, for frontends without widgets
    with RunnerThread(world, tmp_path / "site"):
        request = picker.run()
        done = picker.monitor.wait(120)
    assert [j.action for j in request.jobs] == ["generate_dataset", "derive_measures"]
    assert {j.state for j in done.jobs} == {"succeeded"}
    assert picker.monitor.progress.value == 2 and picker.monitor.progress.bar_style == "success"
    assert "succeeded" in picker.monitor.table.value
    picker.refresh()  # the last states now show
    assert "succeeded" in repr(picker)


def test_the_log_follows_live_and_keeps_a_capped_tail(world, tmp_path):
    with RunnerThread(world, tmp_path / "site"):
        request = world.dev.job_requests.create(actions=["generate_dataset"], backend="tpp")
        full = LogView(request.jobs[0], client=world.dev)
        tail = LogView(request.jobs[0], client=world.dev, max_lines=1)
        lines = full.wait(120)
        tail.wait(120)
    assert lines and lines == [str(line) for line in world.dev.jobs.logs(request.jobs[0])]
    assert tail.lines[0] == lines[-1] and "earlier lines not shown" in tail.body.value
    assert repr(full).startswith("Log of generate_dataset")


def test_released_files_show_as_tables_and_download_checked(world, tmp_path):
    with RunnerThread(world, tmp_path / "site"):
        jobs = run(world, ["make_table"])
        ids = request_release(world, [(jobs["make_table"], TABLE)])
        publish(world)
        wait_served(world, ids[TABLE])
    browser = ReleaseBrowser(client=world.dev, download_to=tmp_path / "released")
    assert browser.release.id == world.release_id and browser.current.path == TABLE
    table = browser.view.children[0].value
    assert table.startswith("<table><tr><th>") and "region" in table
    saved = browser.download()
    assert saved.read_bytes() == (tmp_path / "site" / "workspaces" / "sample" / TABLE).read_bytes()
    assert TABLE in repr(browser)


def test_a_monitor_of_a_finished_request_does_not_follow(world, tmp_path):
    with RunnerThread(world, tmp_path / "site"):
        request = world.dev.job_requests.create(actions=["generate_dataset"], backend="tpp")
        request.wait(timeout=120, progress=False)
    monitor = JobMonitor(request.id, client=world.dev)
    monitor.wait(10)
    assert monitor.finished and not monitor.feed.running
