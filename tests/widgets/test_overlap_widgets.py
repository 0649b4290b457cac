"""Differencing in the widgets: the checker's ReviewQueue lists the tables the project
released that a file under review overlaps, as the release page does, against the real job
server (the site's part played over HTTP with the runner's token); and `overlaps_html`
escapes what it shows, as paths and column names are data."""

from __future__ import annotations

import re

from jupyter_ext import schema
from jupyter_ext.widgets import ReviewQueue
from jupyter_ext.widgets.findings import CELLS_SHOWN, overlaps_html, overlaps_text

from ..jobserver.test_release_differencing import ALL, UNDER_90, VALUES, asked, released
from .test_release_widgets import AMBER, world  # noqa: F401 (a fixture)

BY_REGION = schema.Overlap(
    file="01J9Z3QK6W8E4R2T5Y7U9I0FIL",
    release="01J9Z3QK6W8E4R2T5Y7U9I0P1A",
    workspace="sample",
    path="output/by_region.csv",
    rows=1204,
    cells=[(1, "deaths"), (3, "patients")],
    flagged=2,
)


def test_the_checker_sees_the_released_table_a_file_overlaps(world):  # noqa: F811
    for name in ("checker1", "checker2"):
        world.user(name, ["output_checker"])
    world.user("publisher", ["output_publisher"])
    all_id = released(world, ALL, "output/by_region.csv")
    release_id, _ = asked(world, UNDER_90, "output/under_90_by_region.csv")
    all_release = world.connect("checker1").releases.get(release_id).files[0].overlaps[0].release

    queue = ReviewQueue(client=world.connect("checker1"))
    shown = queue.file("output/under_90_by_region.csv", release_id).details.value
    section = shown[shown.index('<div class="jx-overlaps">') :]
    section = section[: section.index("</div>")]
    assert "<b>Overlaps released tables</b>" in section
    assert '<ul aria-label="Released tables overlapping output/under_90_by_region.csv"' in section
    assert (
        f"<li>Shares 4 rows with output/by_region.csv (workspace sample, release {all_release})"
        in section
    )
    assert "2 cells differ by a small count: row 1, deaths; row 1, patients</span></li>" in section
    assert AMBER in section
    words = re.sub(r"<[^>]*>|[0-9A-Z]{26}|--jp-[a-z0-9-]+|#[0-9a-f]{6}", " ", section)
    assert [v for v in VALUES if v in words] == []  # the cells by row and column, no value
    assert all_id not in section  # named by its path and release, not the file's id
    assert (
        "overlaps: Shares 4 rows with output/by_region.csv (workspace sample, release "
        f"{all_release}): 2 cells differ by a small count: row 1, deaths; row 1, patients"
    ) in repr(queue)


def test_a_file_that_overlaps_nothing_shows_no_overlap(world):  # noqa: F811
    world.user("checker1", ["output_checker"])
    release_id, _ = asked(world, UNDER_90, "output/under_90_by_region.csv")

    queue = ReviewQueue(client=world.connect("checker1"))
    shown = queue.file("output/under_90_by_region.csv", release_id).details.value
    assert "Overlaps released tables" not in shown and "overlaps:" not in repr(queue)
    assert overlaps_html([]) == "" and overlaps_text([]) == []


def test_overlaps_are_named_by_path_workspace_and_release():
    shown = overlaps_html([BY_REGION, BY_REGION.model_copy(update={"rows": 1, "flagged": 0})])
    assert shown.count("<li>") == 2
    assert (
        "<li>Shares 1,204 rows with output/by_region.csv (workspace sample, release "
        "01J9Z3QK6W8E4R2T5Y7U9I0P1A); <span" in shown
    )
    assert ">2 cells differ by a small count: row 1, deaths; row 3, patients</span>" in shown
    assert "<li>Shares 1 row with output/by_region.csv (workspace sample, release" in shown
    assert '<ul aria-label="Released tables overlapping the table"' in shown
    one = BY_REGION.model_copy(update={"cells": [(4, "deaths")], "flagged": 1})
    assert overlaps_text([one]) == [
        "Shares 1,204 rows with output/by_region.csv (workspace sample, release "
        "01J9Z3QK6W8E4R2T5Y7U9I0P1A): 1 cell differs by a small count: row 4, deaths"
    ]


def test_flagged_cells_not_named_are_counted():
    cells = [(row, "deaths") for row in range(1, 21)]  # the job server keeps the first 20
    (line,) = overlaps_text([BY_REGION.model_copy(update={"cells": cells, "flagged": 1234})])
    named = "; ".join(f"row {row}, deaths" for row in range(1, CELLS_SHOWN + 1))
    assert line.endswith(
        f"1,234 cells differ by a small count: {named} and {1234 - CELLS_SHOWN:,} more"
    )
    (line,) = overlaps_text([BY_REGION.model_copy(update={"cells": [], "flagged": 3})])
    assert line.endswith(
        "(workspace sample, release 01J9Z3QK6W8E4R2T5Y7U9I0P1A): 3 cells differ by a small count"
    )


def test_a_hostile_path_or_column_is_shown_as_text():
    hostile = BY_REGION.model_copy(
        update={
            "path": 'output/<img src=x onerror=alert(1)>".csv',
            "workspace": "<em>ws</em>",
            "cells": [(1, "<script>x</script>")],
            "flagged": 1,
        }
    )
    shown = overlaps_html([hostile], path='<i>"under".csv')
    assert "<img" not in shown and "<em>" not in shown and "<script>" not in shown
    assert "<i>" not in shown
    assert "output/&lt;img src=x onerror=alert(1)&gt;&quot;.csv" in shown
    assert "workspace &lt;em&gt;ws&lt;/em&gt;" in shown
    assert "row 1, &lt;script&gt;x&lt;/script&gt;" in shown
    assert 'aria-label="Released tables overlapping &lt;i&gt;&quot;under&quot;.csv"' in shown
