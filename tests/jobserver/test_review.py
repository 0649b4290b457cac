"""The review of a release: the state machine, versions, comments, withdrawal, deletion,
and the refusals that change nothing."""

from __future__ import annotations

import hashlib

import pytest

from jupyter_ext.jobserver.review import tally
from jupyter_ext.jobserver.states import TRANSITIONS

from .harness import leased_job

TABLE = b"region,count\nnorth,35\nsouth,40\n"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("votes", "required", "state"),
    [
        ([], 2, "requested"),
        (["approve"], 2, "in_review"),
        (["approve", "approve"], 2, "approved"),
        (["approve", "reject"], 2, "in_review"),  # a tie waits for a third checker
        (["approve", "reject", "request_changes"], 2, "changes_requested"),  # who breaks it
        (["reject", "reject"], 2, "rejected"),
        (["approve"], 1, "approved"),
        (["approve", "reject", "approve"], 3, "approved"),
        (["approve", "reject", "request_changes"], 3, "in_review"),
        (["approve", "reject", "request_changes", "reject"], 3, "rejected"),
    ],
)
def test_the_votes_decide_a_file(votes, required, state):
    assert tally(votes, required) == state


def test_every_state_the_votes_can_give_is_reachable_in_the_table():
    table = TRANSITIONS["release_file"]
    for state in ("in_review", "approved", "changes_requested", "rejected"):
        assert state in table["requested"]
    assert table["released"] == table["superseded"] == table["withdrawn"] == frozenset()


def finished(world, files: dict[str, bytes], checks: dict[str, dict] | None = None) -> str:
    """A succeeded job of the sample workspace that recorded `files` (and the site's checks)."""
    runner = world.client(token=world.runner_token)
    job = leased_job(world)
    outputs = [
        {
            "path": path,
            "size": len(data),
            "sha256": sha(data),
            "privacy_level": "moderately_sensitive",
            "check": (checks or {}).get(path),
        }
        for path, data in files.items()
    ]
    assert runner.post(f"runner/jobs/{job}/outputs", json={"outputs": outputs}).status_code == 204
    runner.post(f"runner/jobs/{job}/status", json={"state": "succeeded", "exit_code": 0})
    return job


def ask(client, job: str, *paths: str):
    group = {
        "context": "counts by region",
        "disclosure_control": "rounded to 5",
        "files": [{"job": job, "path": p} for p in paths],
    }
    return client.post(
        "releases", json={"workspace": "sample", "backend": "tpp", "groups": {"tables": group}}
    )


@pytest.fixture
def reviewers(world):
    for name in ("checker1", "checker2", "checker3"):
        world.user(name, ["output_checker"])
    world.user("publisher", ["output_publisher"])
    return world


def count_rows(world, table: str) -> int:
    from sqlalchemy import func, select

    from jupyter_ext.jobserver import orm

    model = {"releases": orm.Release, "release_files": orm.ReleaseFile}[table]
    with world.factory() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_the_rules_refuse_a_file_before_anyone_is_asked(reviewers):
    world = reviewers
    found = {
        "path": "output/people.csv",
        "rows": 2,
        "columns": ["patient_id", "count"],
        "findings": [
            {
                "rule": "forbidden_column",
                "verdict": "refuse",
                "message": "the column 'patient_id' identifies people: drop it",
            }
        ],
    }
    flagged = {
        "path": "output/table.csv",
        "rows": 2,
        "columns": ["region", "count"],
        "findings": [
            {
                "rule": "small_number",
                "verdict": "flag",
                "cells": [[1, "count"]],
                "message": "1 counts from 1 to 7 (row 1 'count')",
            }
        ],
    }
    job = finished(
        world,
        {"output/people.csv": TABLE, "output/table.csv": TABLE, "output/model.pkl": b"\x80\x04"},
        {"output/people.csv": found, "output/table.csv": flagged},
    )
    dev = world.client("dev")
    refused = ask(dev, job, "output/table.csv", "output/people.csv")
    assert refused.status_code == 422
    assert "output/people.csv fails tpp's pre-release rules" in refused.json()["detail"]
    assert "'patient_id' identifies people" in refused.json()["detail"]
    wrong_type = ask(dev, job, "output/model.pkl")
    assert wrong_type.status_code == 422 and ".pkl may not be released" in wrong_type.text
    escape = ask(dev, job, "../../etc/passwd")
    assert escape.status_code == 422 and "recorded no output" in escape.json()["detail"]
    assert count_rows(world, "releases") == 0  # nothing was written

    release = ask(dev, job, "output/table.csv").json()
    (file,) = release["files"]
    assert file["findings"][0]["rule"] == "small_number"  # the checkers see it beside the file
    assert (file["rows"], file["columns"]) == (2, ["region", "count"])


def test_changes_asked_for_answered_and_a_new_version_reviewed(reviewers):
    world = reviewers
    dev = world.client("dev")
    first_job = finished(world, {"output/table.csv": TABLE})
    release = ask(dev, first_job, "output/table.csv").json()
    rid, v1 = release["id"], release["files"][0]["id"]
    vote = f"releases/{rid}/files/{v1}/reviews"
    world.client("checker1").post(
        vote, json={"decision": "request_changes", "comment": "round the counts"}
    )
    hidden = world.client("checker2").get(f"releases/{rid}").json()["files"][0]
    assert hidden["reviews"] == [] and hidden["state"] == "in_review"
    shown = world.client("checker2").post(vote, json={"decision": "request_changes"}).json()
    assert shown["files"][0]["state"] == "changes_requested"
    assert {r["reviewer"] for r in shown["files"][0]["reviews"]} == {"checker1", "checker2"}

    replace = f"releases/{rid}/files/{v1}/versions"
    assert world.client("checker1").post(replace, json={"job": first_job}).status_code == 403
    same = dev.post(replace, json={"job": first_job})
    assert same.status_code == 422 and "byte for byte" in same.json()["detail"]
    answer = dev.post(f"releases/{rid}/files/{v1}/comments", json={"text": "now rounded to 5"})
    assert answer.json()["files"][0]["comments"][0]["author"] == "dev"

    rounded = b"region,count\nnorth,35\nsouth,40\nwest,10\n"
    second_job = finished(world, {"output/table.csv": rounded})
    replaced = dev.post(replace, json={"job": second_job, "comment": "rounded"})
    assert replaced.status_code == 201, replaced.text
    latest, old = replaced.json()["files"]  # the latest version first, the old one kept
    assert (latest["version"], latest["replaces"], latest["state"]) == (2, v1, "requested")
    assert (latest["sha256"], latest["reviews"]) == (sha(rounded), [])
    assert (old["id"], old["state"], old["sha256"]) == (v1, "superseded", sha(TABLE))
    again = dev.post(replace, json={"job": second_job})
    assert again.status_code == 409  # a superseded version is not replaced twice

    new_vote = f"releases/{rid}/files/{latest['id']}/reviews"
    for name in ("checker1", "checker2"):
        assert world.client(name).post(new_vote, json={"decision": "approve"}).status_code == 201
    published = world.client("publisher").post(f"releases/{rid}/publish").json()
    assert published["state"] == "released"
    assert [f["state"] for f in published["files"]] == ["released", "superseded"]
    late = world.client("checker3").post(new_vote, json={"decision": "reject"})
    assert late.status_code == 409 and "released" in late.json()["detail"]

    # a member who may see only released files sees only the released version
    seen = world.client("collab").get(f"releases/{rid}").json()
    assert [f["version"] for f in seen["files"]] == [2]


def test_a_vote_can_be_changed_until_release_and_a_tie_needs_a_third(reviewers):
    world = reviewers
    job = finished(world, {"output/table.csv": TABLE})
    release = ask(world.client("dev"), job, "output/table.csv").json()
    vote = f"releases/{release['id']}/files/{release['files'][0]['id']}/reviews"
    c1, c2, c3 = (world.client(n) for n in ("checker1", "checker2", "checker3"))
    assert c1.put(vote, json={"decision": "approve"}).status_code == 409  # no vote to change
    c1.post(vote, json={"decision": "approve"})
    tied = c2.post(vote, json={"decision": "reject"}).json()["files"][0]
    assert tied["state"] == "in_review"
    before = c3.get(f"releases/{release['id']}").json()["files"][0]
    assert len(before["reviews"]) == 2  # both have voted: the tie-breaker sees why
    changed = c2.put(vote, json={"decision": "approve", "comment": "convinced"}).json()
    assert changed["files"][0]["state"] == "approved"
    audit = world.client("admin").get("audit", params={"target_type": "release_file"}).json()
    change = next(e for e in audit["items"] if e["before"])
    assert change["before"]["decision"] == "reject" and change["after"]["decision"] == "approve"


def test_refusals_change_nothing(reviewers):
    world = reviewers
    world.user("author-publisher", ["output_publisher", "project_developer"])
    job = finished(world, {"output/table.csv": TABLE})
    release = ask(world.client("author-publisher"), job, "output/table.csv").json()
    rid, fid = release["id"], release["files"][0]["id"]
    vote = f"releases/{rid}/files/{fid}/reviews"
    publish = f"releases/{rid}/publish"

    early = world.client("publisher").post(publish)
    assert early.status_code == 409 and "nothing can be published" in early.json()["detail"]
    no_role = world.client("collab").post(vote, json={"decision": "approve"})
    assert no_role.status_code == 403
    assert world.client("outsider").post(vote, json={"decision": "approve"}).status_code == 403
    for name in ("checker1", "checker2"):
        world.client(name).post(vote, json={"decision": "approve"})
    own = world.client("author-publisher").post(publish)
    assert own.status_code == 403 and "you asked for this release" in own.json()["detail"]
    withdraw = world.client("dev").post(f"releases/{rid}/withdraw")
    assert withdraw.status_code == 403 and "only author-publisher" in withdraw.json()["detail"]
    state = world.client("checker1").get(f"releases/{rid}").json()
    assert state["state"] == "requested" and state["files"][0]["state"] == "approved"

    withdrawn = world.client("author-publisher").post(f"releases/{rid}/withdraw").json()
    assert withdrawn["state"] == "withdrawn" and withdrawn["files"][0]["state"] == "withdrawn"
    after = world.client("publisher").post(publish)
    assert after.status_code == 409 and "withdrawn" in after.json()["detail"]


def test_a_released_file_is_deleted_by_a_publisher_and_restored_by_an_admin(reviewers):
    world = reviewers
    job = finished(world, {"output/table.csv": TABLE})
    release = ask(world.client("dev"), job, "output/table.csv").json()
    fid = release["files"][0]["id"]
    for name in ("checker1", "checker2"):
        world.client(name).post(
            f"releases/{release['id']}/files/{fid}/reviews", json={"decision": "approve"}
        )
    world.client("publisher").post(f"releases/{release['id']}/publish")
    world.client(token=world.runner_token).put(f"runner/release-files/{fid}", content=TABLE)
    url = f"{world.base_url.removesuffix('api/v1/')}api/v2/releases/file/{fid}"
    assert world.client("collab").get(url).content == TABLE

    assert world.client("collab").delete(url).status_code == 403
    assert world.client("publisher").delete(url).json() == {"id": fid, "deleted": True}
    gone = world.client("collab").get(url)
    assert gone.status_code == 410 and "deleted by publisher" in gone.json()["detail"]
    assert world.client("publisher").post(f"{url}/restore").status_code == 403
    assert world.client("admin").post(f"{url}/restore").json()["deleted"] is False
    assert world.client("collab").get(url).content == TABLE
    audit = world.client("admin").get("audit", params={"target_type": "release_file"}).json()
    assert {"release_file.delete", "release_file.restore"} <= {e["action"] for e in audit["items"]}


def test_each_change_of_a_release_is_an_event_that_names_only_it(reviewers):
    import json

    from .test_live import EventStream

    world = reviewers
    job = finished(world, {"output/table.csv": TABLE})
    dev = world.client("dev")
    with dev.stream("GET", "events", params={"kind": "release"}) as response:
        stream = EventStream(response)
        release = ask(dev, job, "output/table.csv").json()
        vote = f"releases/{release['id']}/files/{release['files'][0]['id']}/reviews"
        world.client("checker1").post(vote, json={"decision": "approve", "comment": "secret"})
        requested, voted = stream.next(2)
    assert [requested["event"], voted["event"]] == ["release", "release"]
    assert json.loads(requested["data"]) == {
        "id": release["id"],
        "workspace": "sample",
        "state": "requested",
    }
    assert "secret" not in voted["data"]  # a vote is shown by the API, to those who may see it
