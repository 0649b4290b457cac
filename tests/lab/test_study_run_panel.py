"""A study run from the Jobs panel, in a real JupyterLab driven by Chromium, against the real job
server and a real runner at each of two sites (north, south).

The analyst chooses both sites and runs make_table: the run opens as a grid of actions by
sites, following the run's own event stream; south's runner is not there yet, and the grid
says so ("waiting for south: never seen"); it starts, and every cell of both sites turns
succeeded live. A cell opens that job's log. North's table is released; Collect writes it
into the workspace and says south has nothing released yet, then shows the folder.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time

import pytest

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer
from ..jobserver.test_study_runs import two_sites
from ..runner.test_local_runner import RunnerThread
from .axe import describe, serious_violations
from .test_jobs_panel import TIMEOUT, open_panel

pytestmark = pytest.mark.slow

SITES = ("north", "south")
TABLE = "output/table_by_region.csv"
# In the page, before JupyterLab loads: the URL of every EventSource it opens.
WATCH_STREAMS = """() => {
  window.__streams = [];
  const Original = window.EventSource;
  window.EventSource = class extends Original {
    constructor(url, init) { super(url, init); window.__streams.push(String(url)); }
  };
}"""


def stop(runner: RunnerThread) -> None:
    """From a thread of its own: Playwright's sync API may hold this thread's loop."""
    stopping = threading.Thread(target=runner.__exit__, args=(None, None, None))
    stopping.start()
    stopping.join(30)


@pytest.fixture(scope="module")
def world(lab_tmp):
    """The sample workspace usable at north and south; north's runner is up (south's starts
    in the test), north names its own output checker."""
    world = build_world(JobServer(f"sqlite:///{lab_tmp / 'js.sqlite'}", lab_tmp), lab_tmp)
    world.site_tokens = two_sites(world)
    world.user("north-checker")
    world.client("admin").put(
        "backends/north/members/north-checker", json={"roles": ["output_checker"]}
    ).raise_for_status()
    world.user("checker", ["output_checker"])
    world.user("publisher", ["output_publisher"])
    north = RunnerThread(world, lab_tmp / "north", token=world.site_tokens["north"]).__enter__()
    try:
        yield world
    finally:
        stop(north)
        world.close()


def release_at_north(world, run: dict) -> None:
    """North's table asked for, approved by north's checker and a global one, published, and
    sent by north's runner at its next heartbeat."""
    site = next(s for s in run["sites"] if s["backend"] == "north")
    job = next(j for j in site["job_request"]["jobs"] if j["action"] == "make_table")
    group = {
        "context": "counts by region",
        "disclosure_control": "rounded to 5, under 7 suppressed",
        "files": [{"job": job["identifier"], "path": TABLE}],
    }
    body = {"workspace": "sample", "backend": "north", "groups": {"tables": group}}
    made = world.client("dev").post("releases", json=body)
    assert made.status_code == 201, made.text
    release = made.json()
    vote = f"releases/{release['id']}/files/{release['files'][0]['id']}/reviews"
    for checker in ("north-checker", "checker"):
        answer = world.client(checker).post(vote, json={"decision": "approve"})
        assert answer.status_code == 201, answer.text
    published = world.client("publisher").post(f"releases/{release['id']}/publish")
    assert published.status_code == 200, published.text
    deadline = time.monotonic() + 30
    while not world.client("dev").get(f"releases/{release['id']}").json()["files"][0]["uploaded"]:
        assert time.monotonic() < deadline, "north's runner never sent the released table"
        time.sleep(0.2)


def test_a_run_at_two_sites_follows_both_live_and_collects_what_was_released(
    page, lab, world, checkout, lab_tmp, shots
):
    page.add_init_script(f"({WATCH_STREAMS})()")
    panel = open_panel(page, lab)
    panel.locator(".jp-ext-live").wait_for(timeout=TIMEOUT)
    # one backend chosen (north: its runner is up); south added makes it a study run
    north = panel.get_by_role("checkbox", name="North", exact=True)
    north.wait_for(timeout=TIMEOUT)
    assert north.is_checked()
    panel.get_by_role("checkbox", name=re.compile(r"^South")).check()
    panel.get_by_role("checkbox", name="make_table").check()
    panel.get_by_role("button", name="Run 1 action at 2 sites").click()

    detail = panel.locator(".jp-ext-run-detail")
    detail.wait_for(timeout=TIMEOUT)
    run_id = detail.get_attribute("aria-label").removeprefix("Study run ")
    grid = detail.get_by_role("table", name="Jobs by action and site")
    assert grid.locator("thead th").all_inner_texts()[0] == "Action"
    # south has no runner yet: its part waits, and the site says why
    detail.locator(".jp-ext-site", has_text="waiting for south: never seen").wait_for(
        timeout=TIMEOUT
    )
    assert detail.get_by_role("button", name="Cancel south").is_visible()
    # the run's own stream is open beside the workspace's
    streams = page.evaluate("window.__streams")
    assert any(f"api/events?run={run_id}" in url for url in streams), streams
    north_done = grid.get_by_role("button", name="make_table at north: succeeded")
    north_done.wait_for(timeout=TIMEOUT)
    assert grid.get_by_role("button", name=re.compile(r"^make_table at south: pending")).count()
    shots(page, "20-study-run-south-waiting")

    south = RunnerThread(world, lab_tmp / "south", token=world.site_tokens["south"]).__enter__()
    try:
        grid.get_by_role("button", name="make_table at south: succeeded").wait_for(timeout=TIMEOUT)
        cells = grid.locator(".jp-ext-cell")
        rows = grid.locator("tbody th").all_inner_texts()
        assert rows == ["generate_dataset", "derive_measures", "make_table"]
        assert cells.count() == 6
        page.wait_for_function(
            "() => [...document.querySelectorAll('.jp-ext-run-detail .jp-ext-cell')]"
            ".every(c => c.dataset.state === 'succeeded')",
            timeout=TIMEOUT,
        )
        detail.locator(":scope > .jp-ext-row .jp-ext-state-succeeded").wait_for(timeout=TIMEOUT)
        assert detail.locator(".jp-ext-site-message").count() == 0  # nobody waits any more
        assert not detail.get_by_role("button", name="Cancel all sites").count()
        # the run said once that it finished, not once per site
        page.locator(".jp-Notification-Toast-success", has_text="Study run succeeded").wait_for()
        # a cell opens that job's log
        north_done.click()
        detail.locator(".jp-ext-log-line", has_text=f"wrote {TABLE}").wait_for(timeout=TIMEOUT)
        assert north_done.get_attribute("aria-pressed") == "true"
        if found := serious_violations(page, ".jp-ext-run-detail"):
            pytest.fail(describe(found))
        shots(page, "21-study-run-both-sites-succeeded")
    finally:
        stop(south)

    # north's table released; collected into the workspace with what south lacks
    run = world.client("dev").get(f"runs/{run_id}").json()
    assert run["state"] == "succeeded" and [s["backend"] for s in run["sites"]] == list(SITES)
    release_at_north(world, run)
    detail.get_by_role("button", name="Collect released outputs…").click()
    folder = detail.get_by_label("Collect the released outputs of every site into the folder")
    assert folder.input_value() == f"collected/{run_id}"
    detail.get_by_role("button", name="Collect", exact=True).click()
    collected = detail.locator(".jp-ext-collected")
    collected.wait_for(timeout=TIMEOUT)
    assert collected.inner_text().startswith(f"1 file written to collected/{run_id}")
    by_site = collected.locator(".jp-ext-collected-site").all_inner_texts()
    assert by_site[0].startswith("north: 1 file") and TABLE in by_site[0]
    assert by_site[1].startswith("south: nothing yet") and "request a release" in by_site[1]
    written = checkout / "collected" / run_id / "north" / TABLE
    served = world.client("dev").get(f"runs/{run_id}").json()  # the run, for its sha
    assert served["sha"] == world.sha
    manifest = (checkout / "collected" / run_id / "manifest.json").read_text()
    assert hashlib.sha256(written.read_bytes()).hexdigest() in manifest
    if found := serious_violations(page, ".jp-ext-run-detail"):
        pytest.fail(describe(found))
    collected.scroll_into_view_if_needed()
    shots(page, "22-study-run-collected")

    # the folder, in the file browser
    collected.get_by_role("button", name=f"Show collected/{run_id} in the file browser").click()
    listing = page.locator(".jp-FileBrowser .jp-DirListing-content")
    listing.wait_for(state="visible", timeout=TIMEOUT)
    page.locator(".jp-FileBrowser .jp-BreadCrumbs", has_text=run_id).wait_for(timeout=TIMEOUT)
    names = listing.locator(".jp-DirListing-itemText").all_inner_texts()
    assert {"north", "manifest.json"} <= set(names), names
    shots(page, "23-study-run-folder-in-file-browser")

    # back in the list of requests: the run is one item holding its two sites' parts
    panel = open_panel(page, lab)
    item = panel.locator(".jp-ext-run-item").first
    item.wait_for(timeout=TIMEOUT)
    assert "make_table" in item.inner_text() and "study run" in item.inner_text()
    parts = item.locator(".jp-ext-run-parts .jp-ext-state")
    assert [parts.nth(i).get_attribute("title") for i in range(parts.count())] == [
        "north: succeeded",
        "south: succeeded",
    ]
    assert panel.locator(".jp-ext-request:not(.jp-ext-run-item)").count() == 0
    assert not page.errors, page.errors
