"""Asking for a release and reviewing one from widgets, against the real job server (and the
real runner for the outputs), driven by clicking their buttons."""

from __future__ import annotations

import pytest

from jupyter_ext.client import Client
from jupyter_ext.widgets import ReleaseRequest, ReviewQueue

from ..jobserver.test_review import TABLE as SMALL_TABLE
from ..jobserver.test_review import finished
from ..runner.test_local_runner import RunnerThread
from ..runner.test_uploads import PLOT, TABLE, run, world_at

RED, AMBER = "--jp-error-color1", "--jp-warn-color1"


@pytest.fixture
def world(tmp_path):
    world = world_at(tmp_path)
    made = []

    def connect(username: str) -> Client:
        made.append(Client(root(world), token=world.tokens[username], workspace="sample"))
        return made[-1]

    world.connect = connect
    yield world
    for client in made:
        client.close()
    world.close()


def root(world) -> str:
    return world.base_url.removesuffix("api/v1/")


def test_tick_check_fix_check_again_and_request(world, tmp_path):
    with RunnerThread(world, tmp_path / "site"):
        jobs = run(world, ["make_table", "make_plot"])
    here = tmp_path / "workspace"  # the analyst's own run: only the table is here
    (here / "output").mkdir(parents=True)
    (here / TABLE).write_text("region,population,with_condition\nNorth,120,3\nSouth,95,40\n")

    widget = ReleaseRequest(client=world.connect("dev"), workspace_dir=here)
    assert widget.backend.value == "tpp" and list(widget.candidates) == [PLOT, TABLE]
    table, plot = widget.candidates[TABLE], widget.candidates[PLOT]
    assert table.job.identifier == jobs["make_table"]
    assert "on the site, when the job ended" in table.result.value  # the runner's own check

    table.box.value = plot.box.value = True
    widget.check_button.click()
    assert table.check.refused and "row 1 &#x27;with_condition&#x27;" in table.result.value
    assert RED in table.result.value and "Fix output/table_by_region.csv" in widget.message.value
    assert plot.check is None and "the rules run on the site" in plot.result.value
    assert "refused small_number" in repr(widget)  # the text form

    (here / TABLE).write_text("region,population,with_condition\nNorth,120,[REDACTED]\n")
    widget.check_button.click()
    assert not table.check.findings and "passes the rules" in table.result.value
    assert widget.message.value == "Checked 2 files."

    widget.submit.click()
    assert widget.release is None and "Give a context and how small numbers" in widget.message.value
    widget.context.value = "Condition counts and rates by region, and the monthly rate"
    widget.disclosure.value = "Counts under 7 suppressed, the rest rounded to 5"
    widget.submit.click()
    release = widget.release
    assert release is not None and release.id in widget.message.value
    assert f"{root(world)}uni/sample-study/sample/releases/{release.id}" in widget.message.value
    assert {(f.job, f.path) for f in release.files} == {
        (jobs["make_table"], TABLE),
        (jobs["make_plot"], PLOT),
    }
    assert release.groups["outputs"]["disclosure_control"].startswith("Counts under 7")


def test_a_release_the_job_server_refuses_says_why(world, tmp_path):
    finished(world, {"output/model.pkl": b"\x80\x04"})
    widget = ReleaseRequest(client=world.connect("dev"), workspace_dir=tmp_path)
    widget.candidates["output/model.pkl"].box.value = True
    widget.context.value, widget.disclosure.value = "a fitted model", "none needed"
    widget.submit.click()
    assert widget.release is None and RED in widget.message.value
    assert ".pkl may not be released" in widget.message.value


def test_a_checker_votes_and_sees_the_votes_once_all_are_in(world):
    flagged = {
        "path": "output/table.csv",
        "rows": 2,
        "columns": ["region", "count"],
        "findings": [
            {
                "rule": "small_number",
                "verdict": "flag",
                "cells": [[1, "count"]],
                "message": "1 count from 1 to 7 (row 1 'count')",
            }
        ],
    }
    for name in ("checker1", "checker2"):
        world.user(name, ["output_checker"])
    job = finished(world, {"output/table.csv": SMALL_TABLE}, {"output/table.csv": flagged})
    dev = world.connect("dev")
    group = {
        "context": "Counts by region",
        "disclosure_control": "<b>rounded</b> to 5",
        "files": [{"job": job, "path": "output/table.csv"}],
    }
    release = dev.releases.create(backend="tpp", groups={"tables": group})
    dev.releases.comment(release, release.files[0], "north is a merged region")
    assert "Nothing waits" in ReviewQueue(client=dev).message.value  # not for the author

    first = ReviewQueue(client=world.connect("checker1"))
    assert "1 files wait for your vote" in first.message.value
    item = first.file("output/table.csv")
    shown = item.details.value
    assert "2 rows, 2 columns: region, count" in shown and AMBER in shown
    assert "north is a merged region" in shown and "dev (on version 1)" in shown
    assert "&lt;b&gt;rounded&lt;/b&gt; to 5" in first.children[1].children[0].value  # escaped
    item.comment.value = "fine once rounded"
    item.approve.click()
    assert "Refresh to look" in item.outcome.value and item.approve.disabled

    second = ReviewQueue(client=world.connect("checker2"))
    other = second.file("output/table.csv")
    other.request_changes.click()
    assert "The votes are tied: a third checker decides" in other.outcome.value
    assert "checker1" in other.outcome.value and "fine once rounded" in other.outcome.value
    first.refresh()
    assert "Nothing waits for your vote" in first.message.value
    assert "tied" in first.file("output/table.csv").outcome.value  # seen after a Refresh
    assert "checker2: request_changes" in repr(first)

    world.user("checker3", ["output_checker"])
    third = ReviewQueue(client=world.connect("checker3"))
    third.file("output/table.csv").approve.click()
    assert "All have voted: the file is approved" in third.file("output/table.csv").outcome.value


def test_a_checker_opens_the_file_under_review_in_the_queue(world, tmp_path):
    """Open shows the copy the site sent for review: the table escaped, the plot as an
    image; the author's Open is refused, and each read is in the audit trail."""
    from jupyter_ext.widgets.review_queue import FileReview

    from ..security.test_review_copies import audited, wait_settled

    world.user("checker1", ["output_checker"])
    site = tmp_path / "site"
    with RunnerThread(world, site):
        jobs = run(world, ["make_table", "make_plot"])
        dev = world.connect("dev")
        group = {
            "context": "c",
            "disclosure_control": "d",
            "files": [
                {"job": jobs["make_table"], "path": TABLE},
                {"job": jobs["make_plot"], "path": PLOT},
            ],
        }
        release = dev.releases.create(backend="tpp", groups={"g": group})
        for f in release.files:
            wait_settled(world, f.id)
    queue = ReviewQueue(client=world.connect("checker1"))
    table = queue.file(TABLE)
    table.open.click()
    (view,) = table.viewer.children
    first_row = (site / "workspaces" / "sample" / TABLE).read_text().splitlines()[0]
    assert "<table" in view.value and first_row.split(",")[0] in view.value
    plot = queue.file(PLOT)
    plot.open.click()
    (image,) = plot.viewer.children
    assert image.format == "svg+xml"
    assert image.value == (site / "workspaces" / "sample" / PLOT).read_bytes()

    own = FileReview(dev, "dev", dev.releases.get(release.id), release.files[0])
    own.open.click()
    assert "only output checkers may" in own.viewer.children[0].value
    views = audited(world, "release_file.review_view")
    assert sorted(v["actor"] for v in views) == ["checker1", "checker1"]
