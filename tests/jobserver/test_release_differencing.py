"""Differencing in the job server: a table under review against what its project released.

The real job server on SQLite and PostgreSQL; the site's part is played over HTTP with the
runner's token, sending bytes as the runner does (tests/runner/test_release_differencing.py
has the real runner). The classic attack (patients by region released, then patients by
region except the over-90s asked for) is flagged by row and column, naming the released
table and never a value; a table of another shape overlaps nothing; a deleted released file
still counts; a review pending while a release is published gets the overlap; every job
server process keeps its own index of released tables, which learns new ones from the
database; and nothing differencing meets makes an upload fail.
"""

from __future__ import annotations

import logging
import re

import pytest
from sqlalchemy import select

from jupyter_ext.jobserver import orm
from jupyter_ext.jobserver.release_differencing import released_tables

from .conftest import build_world
from .harness import JobServer
from .mocking import MockJobServerApp
from .test_review import ask, finished

ALL = b"region,patients,deaths\nnorth,1200,40\nsouth,950,31\neast,700,20\nwest,400,9\n"
# all patients except the over-90s: north loses 2 patients and 1 death, east 9 patients
UNDER_90 = b"region,patients,deaths\nnorth,1198,39\nsouth,950,31\neast,691,20\nwest,400,9\n"
BY_SEX = b"sex,patients,deaths\nf,1199,39\nm,1001,41\n"
VALUES = ("1198", "1200", "39", "40", "north", "691", "700")
PAGE = "uni/sample-study/sample/releases"


def make_world(url, tmp_path):
    settings = MockJobServerApp(release_dir=str(tmp_path / "releases"))
    world = build_world(JobServer(url, tmp_path, settings), tmp_path)
    for name in ("checker1", "checker2"):
        world.user(name, ["output_checker"])
    world.user("publisher", ["output_publisher"])
    return world


@pytest.fixture
def world(db_url, tmp_path):
    made = make_world(db_url, tmp_path)
    yield made
    made.close()


def released(world, data: bytes, path: str) -> str:
    """A table reviewed twice, published and sent by the site: its file id."""
    release_id, file_id = asked(world, data, path, send=False)
    for name in ("checker1", "checker2"):
        vote = f"releases/{release_id}/files/{file_id}/reviews"
        assert world.client(name).post(vote, json={"decision": "approve"}).status_code == 201
    assert world.client("publisher").post(f"releases/{release_id}/publish").status_code == 200
    runner = world.client(token=world.runner_token)
    assert runner.put(f"runner/release-files/{file_id}", content=data).status_code == 204
    return file_id


def send_for_review(world, file_id: str, data: bytes) -> None:
    runner = world.client(token=world.runner_token)
    sent = runner.put(f"runner/review-files/{file_id}", content=data)
    assert sent.status_code == 204, sent.text


def asked(world, data: bytes, path: str, send: bool = True) -> tuple[str, str]:
    """A table asked for by `dev`, its review copy sent if `send`: (release id, file id)."""
    job = finished(world, {path: data})
    made = ask(world.client("dev"), job, path)
    assert made.status_code == 201, made.text
    file_id = made.json()["files"][0]["id"]
    if send:
        send_for_review(world, file_id, data)
    return made.json()["id"], file_id


def shown(world, who: str, release_id: str) -> dict:
    (file,) = world.client(who).get(f"releases/{release_id}").json()["files"]
    return file


def differencing(file: dict) -> list[dict]:
    return [f for f in file["findings"] if f["rule"] == "differencing"]


def stored(world, file_id: str) -> dict | None:
    with world.factory() as session:
        return session.get(orm.ReleaseFile, file_id).differencing


def audited(world, file_id: str) -> list[tuple]:
    with world.factory() as session:
        return [
            (e.actor, e.before, e.after)
            for e in session.scalars(
                select(orm.AuditEvent)
                .where(
                    orm.AuditEvent.action == "release_file.differencing",
                    orm.AuditEvent.target_id == file_id,
                )
                .order_by(orm.AuditEvent.id)
            )
        ]


def project_tables(world):
    with world.factory() as session:
        project = session.scalar(select(orm.Project).where(orm.Project.slug == "sample-study"))
        return released_tables(world.app.state).of(project.id)


def test_the_classic_attack_is_flagged_by_row_and_column(world):
    all_id = released(world, ALL, "output/by_region.csv")
    release_id, file_id = asked(world, UNDER_90, "output/under_90_by_region.csv")
    with world.factory() as session:
        all_release = session.get(orm.ReleaseFile, all_id).release_id
    file = shown(world, "checker1", release_id)
    assert file["overlaps"] == [
        {
            "file": all_id,
            "release": all_release,
            "workspace": "sample",
            "path": "output/by_region.csv",
            "rows": 4,
            "cells": [[1, "deaths"], [1, "patients"]],  # east's 9 is over the threshold of 7
            "flagged": 2,
        }
    ]
    (finding,) = differencing(file)
    assert finding["verdict"] == "flag" and finding["cells"] == [[1, "deaths"], [1, "patients"]]
    assert "'output/by_region.csv'" in finding["message"]
    assert "row 1 'deaths', row 1 'patients'" in finding["message"]
    assert [v for v in VALUES if v in finding["message"]] == []
    # the audit keeps how many, never which values
    assert audited(world, file_id) == [("system", None, {"overlaps": 1, "flagged": 2})]

    # the release page shows the checker the overlap, linked, and the finding by its cells
    root = world.base_url.removesuffix("api/v1/")
    page = world.client("checker1").get(f"{root}{PAGE}/{release_id}")
    assert page.status_code == 200, page.text
    section = page.text[page.text.index(f'id="overlaps-{file_id}"') :]
    section = section[: section.index("</div>")]
    assert "Overlaps released tables" in section
    assert f'/{PAGE}/{all_release}/files/{all_id}"><code>output/by_region.csv</code></a>' in section
    assert "4 rows shared" in section and "2 cells differ by a small count" in section
    assert "<strong>Flagged:</strong> 2 cells differ from the released table" in page.text
    words = re.sub(r"<[^>]*>|[0-9A-Z]{26}", " ", section)  # no tags, no ids
    assert [v for v in VALUES if v in words] == []
    # the released table's link opens it
    linked = world.client("checker1").get(f"{root}{PAGE}/{all_release}/files/{all_id}")
    assert linked.status_code == 200, linked.text


def test_a_table_of_another_shape_or_a_copy_is_not_flagged(world):
    released(world, ALL, "output/by_region.csv")
    other, other_id = asked(world, BY_SEX, "output/by_sex.csv")
    assert shown(world, "checker1", other)["overlaps"] == []
    assert differencing(shown(world, "checker1", other)) == []
    assert stored(world, other_id) == {"overlaps": [], "findings": []}
    again, _ = asked(world, ALL, "output/by_region_again.csv")  # the same counts: nothing new
    (overlap,) = shown(world, "checker1", again)["overlaps"]
    assert (overlap["rows"], overlap["cells"], overlap["flagged"]) == (4, [], 0)
    assert differencing(shown(world, "checker1", again)) == []
    _, text_id = asked(world, b"north had 1198\n", "output/notes.txt")  # not a table
    assert stored(world, text_id) is None


def test_a_deleted_released_file_still_counts(world):
    """Deleting takes a file down from the job server; its bytes left when it was released,
    so a table subtracted from it discloses as much as before."""
    all_id = released(world, ALL, "output/by_region.csv")
    root = world.base_url.removesuffix("api/v1/")
    gone = world.client("publisher").delete(f"{root}api/v2/releases/file/{all_id}")
    assert gone.json() == {"id": all_id, "deleted": True}
    release_id, _ = asked(world, UNDER_90, "output/under_90_by_region.csv")
    (overlap,) = shown(world, "checker1", release_id)["overlaps"]
    assert overlap["file"] == all_id and overlap["flagged"] == 2


def test_a_pending_review_gets_the_overlap_when_a_release_comes_in_between(world):
    release_id, file_id = asked(world, UNDER_90, "output/under_90_by_region.csv")
    waiting, waiting_id = asked(world, UNDER_90, "output/under_90_again.csv", send=False)
    assert shown(world, "checker1", release_id)["overlaps"] == []
    all_id = released(world, ALL, "output/by_region.csv")
    for who in ("checker1", "dev"):  # its checkers, and its author
        file = shown(world, who, release_id)
        assert [o["file"] for o in file["overlaps"]] == [all_id], who
        assert [f["cells"] for f in differencing(file)] == [[[1, "deaths"], [1, "patients"]]]
    assert audited(world, file_id) == [
        ("system", None, {"overlaps": 0, "flagged": 0}),
        ("system", {"overlaps": 0, "flagged": 0}, {"overlaps": 1, "flagged": 2}),
    ]
    # a file whose copy had not come is compared when it comes
    assert stored(world, waiting_id) is None
    send_for_review(world, waiting_id, UNDER_90)
    assert [o["file"] for o in shown(world, "checker1", waiting)["overlaps"]] == [all_id]
    # a file no longer under review is left as it was
    world.client("dev").post(f"releases/{release_id}/withdraw").raise_for_status()
    before = stored(world, file_id)
    released(world, ALL, "output/by_region_copy.csv")
    assert stored(world, file_id) == before
    assert len(shown(world, "checker1", waiting)["overlaps"]) == 2


def test_each_process_keeps_its_own_index_filled_from_the_database(world, db_url, tmp_path):
    """Two job server processes on one database: the release comes to one, the review copy
    to the other, whose index learns of it; an index grows, it is not built again."""
    second = JobServer(db_url, tmp_path, MockJobServerApp(release_dir=str(tmp_path / "releases")))
    second.start()
    try:
        assert released_tables(second.app.state).warmed.wait(30)  # nothing under review yet
        second.tokens, second.runner_token = world.tokens, world.runner_token
        released(world, BY_SEX, "output/by_sex.csv")
        _, file_id = asked(second, b"sex,patients,deaths\nf,1190,39\n", "x.csv", send=False)
        index = project_tables(second).index
        assert len(index) == 0  # nothing asked of this process yet
        send_for_review(second, file_id, b"sex,patients,deaths\nf,1190,39\n")
        assert len(index) == 1 and project_tables(second).index is index
        all_id = released(world, ALL, "output/by_region.csv")  # to the first
        _, under_id = asked(second, UNDER_90, "output/under_90_by_region.csv")
        assert len(index) == 2 and project_tables(second).index is index
        assert [o["file"] for o in stored(world, under_id)["overlaps"]] == [all_id]
    finally:
        second.close()


def test_a_restarted_job_server_files_the_released_tables_before_the_first_review(
    world, db_url, tmp_path
):
    """The first review copy after a start does not wait, inside its upload, for the project's
    released tables to be filed: the job server filed them as it started."""
    released(world, BY_SEX, "output/by_sex.csv")
    released(world, ALL, "output/by_region.csv")
    asked(world, UNDER_90, "output/under_90_by_region.csv", send=False)
    second = JobServer(db_url, tmp_path, MockJobServerApp(release_dir=str(tmp_path / "releases")))
    second.start()
    try:
        assert released_tables(second.app.state).warmed.wait(30)
        assert len(project_tables(second).index) == 2
    finally:
        second.close()


def test_nothing_differencing_meets_makes_an_upload_fail(world, caplog):
    bad = b"region,patients\n\xff\xfe,1200\n"  # not UTF-8: filed as unreadable, not retried
    bad_id = released(world, bad, "output/broken.csv")
    asked(world, UNDER_90, "output/under_90_by_region.csv")
    assert bad_id in project_tables(world).unreadable
    assert len(project_tables(world).index) == 0
    # rules the job server cannot read: the comparison is abandoned, logged, the copy kept
    release_id, file_id = asked(world, UNDER_90, "output/under_90_again.csv", send=False)
    with world.factory() as session:
        backend = session.scalar(select(orm.Backend).where(orm.Backend.slug == "tpp"))
        backend.release_rules = {"small_number_threshold": -1}
        session.commit()
    caplog.set_level(logging.ERROR, logger="jupyter_ext.jobserver.release_differencing")
    send_for_review(world, file_id, UNDER_90)
    assert shown(world, "checker1", release_id)["review_copy"] is True
    assert stored(world, file_id) is None
    assert f"differencing after the review upload of {file_id} failed" in caplog.text
