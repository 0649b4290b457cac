"""Issue 23: a group a checker could not judge is refused; an approval is withdrawn until the
file is published; the auditors' record of release decisions matches the audit trail."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest

from jupyter_ext.schema.release_record import CSV_COLUMNS

from .test_release_pages import post
from .test_review import TABLE, count_rows, finished, sha

PLOT = b"\x89PNG\r\n\x1a\nnot really"
FLAGGED = {
    "path": "output/plot.png",
    "findings": [
        {"rule": "size", "verdict": "flag", "message": "a large figure: check its labels"}
    ],
}


@pytest.fixture
def reviewers(world):
    """Three output checkers and a publisher, as in test_review."""
    for name in ("checker1", "checker2", "checker3"):
        world.user(name, ["output_checker"])
    world.user("publisher", ["output_publisher"])
    return world


def ask_group(client, job: str, group: dict, name: str = "tables"):
    body = {"workspace": "sample", "backend": "tpp", "groups": {name: group}}
    return client.post("releases", json=body)


def approved(world, *paths: str):
    """A release of `paths` of a finished job, every file approved by checker1 and checker2."""
    job = finished(world, {p: TABLE for p in paths})
    group = {
        "context": "counts by region",
        "disclosure_control": "rounded to 5",
        "files": [{"job": job, "path": p} for p in paths],
    }
    release = ask_group(world.client("dev"), job, group).json()
    for f in release["files"]:
        for name in ("checker1", "checker2"):
            vote = f"releases/{release['id']}/files/{f['id']}/reviews"
            comment = f"{name} looked at {f['path']}"
            reply = world.client(name).post(vote, json={"decision": "approve", "comment": comment})
            assert reply.status_code == 201, reply.text
    return world.client("checker1").get(f"releases/{release['id']}").json()


# -- the context a checker needs ---------------------------------------------------------


def test_a_group_without_what_a_checker_needs_is_refused_and_nothing_written(reviewers):
    world = reviewers
    job = finished(
        world, {"output/table.csv": TABLE, "output/plot.png": PLOT}, {"output/plot.png": FLAGGED}
    )
    dev = world.client("dev")
    table = [{"job": job, "path": "output/table.csv"}]

    no_context = ask_group(dev, job, {"disclosure_control": "rounded to 5", "files": table})
    assert no_context.status_code == 422
    assert no_context.json()["detail"] == (
        "the group 'tables' has no context: say what its files show — the population, the "
        "period, what each count counts — so a checker can judge them without the data"
    )
    blank = ask_group(dev, job, {"context": "  ", "disclosure_control": "r", "files": table})
    assert blank.status_code == 422 and "has no context" in blank.json()["detail"]
    no_control = ask_group(dev, job, {"context": "counts by region", "files": table})
    assert no_control.status_code == 422
    detail = no_control.json()["detail"]
    assert "'tables' holds a table (output/table.csv)" in detail
    assert "say how small numbers were handled, e.g. counts of 7 or fewer suppressed" in detail
    figure = [{"job": job, "path": "output/plot.png"}]
    flagged = ask_group(dev, job, {"context": "a figure", "files": figure}, "figures")
    assert flagged.status_code == 422
    assert "a file the rules flagged (output/plot.png)" in flagged.json()["detail"]
    assert count_rows(world, "releases") == count_rows(world, "release_files") == 0

    too_long = ask_group(dev, job, {"context": "x" * 10_001, "files": table})
    assert too_long.status_code == 422  # the lengths are kept
    clean = finished(world, {"output/plot.png": PLOT})
    figure_only = [{"job": clean, "path": "output/plot.png"}]
    made = ask_group(dev, clean, {"context": "survival by age", "files": figure_only}, "figures")
    assert made.status_code == 201, made.text
    assert made.json()["groups"]["figures"] == {
        "context": "survival by age",
        "disclosure_control": "",
    }


def test_the_page_form_leaves_the_statement_to_the_rules(reviewers):
    world = reviewers
    job = finished(world, {"output/table.csv": TABLE})
    fields = {"file": "output/table.csv", "group": "tables", "context": "counts by region"}
    refused = post(world, "dev", f"/jobs/{job}/release", fields)
    assert refused.status_code == 422 and "no disclosure-control statement" in refused.text
    assert "tick the files" in post(world, "dev", f"/jobs/{job}/release", {}).text
    sent = post(world, "dev", f"/jobs/{job}/release", {**fields, "disclosure_control": "r5"})
    assert sent.status_code == 303


# -- withdrawing an approval ---------------------------------------------------------------


def test_an_approval_is_withdrawn_until_the_file_is_published(reviewers):
    world = reviewers
    release = approved(world, "output/table.csv")
    rid, (file,) = release["id"], release["files"]
    assert file["state"] == "approved"
    votes = f"releases/{rid}/files/{file['id']}/reviews"

    never = world.client("checker3").delete(votes)
    assert never.status_code == 409
    assert never.json()["detail"] == (
        "you have not voted on output/table.csv: there is no vote of yours to withdraw"
    )
    assert world.client("dev").delete(votes).status_code == 403  # no checker
    back = world.client("checker1").delete(votes)
    assert back.status_code == 200, back.text
    (shown,) = back.json()["files"]
    assert shown["state"] == "in_review"
    assert shown["reviews"] == []  # without a vote, the other's is hidden again
    refused = world.client("publisher").post(f"releases/{rid}/publish")
    assert refused.status_code == 409 and "nothing can be published" in refused.json()["detail"]
    world.client("checker2").delete(votes)
    alone = world.client("checker1").get(f"releases/{rid}").json()["files"][0]
    assert alone["state"] == "requested" and alone["reviews"] == []

    for name in ("checker1", "checker3"):
        world.client(name).post(votes, json={"decision": "approve"})
    assert world.client("publisher").post(f"releases/{rid}/publish").status_code == 200
    late = world.client("checker3").delete(votes)
    assert late.status_code == 409
    assert late.json()["detail"] == (
        "output/table.csv (version 1) is released: an approval can be withdrawn only until "
        "the file is published"
    )

    audit = world.client("admin").get(
        "audit", params={"action": "release_file.review_withdraw", "target_id": file["id"]}
    )
    events = audit.json()["items"][::-1]
    assert [(e["actor"], e["before"]["decision"], e["after"]["state"]) for e in events] == [
        ("checker1", "approve", "in_review"),
        ("checker2", "approve", "requested"),
    ]
    assert events[0]["before"]["comment"] == "checker1 looked at output/table.csv"


def test_a_vote_is_withdrawn_from_the_review_page(reviewers):
    world = reviewers
    release = approved(world, "output/table.csv")
    rid, fid = release["id"], release["files"][0]["id"]
    page = f"/uni/sample-study/sample/releases/{rid}"
    from .test_pages import get

    assert "Withdraw your approval on output/table.csv" in get(world, "checker1", page).text
    assert "Withdraw your" not in get(world, "checker3", page).text  # never voted
    sent = post(world, "checker1", f"{page}/files/{fid}/withdraw-vote", {})
    assert sent.status_code == 303 and sent.headers["location"].endswith("?done=unvoted")
    assert "Your vote is withdrawn" in get(world, "checker1", page + "?done=unvoted").text
    again = post(world, "checker1", f"{page}/files/{fid}/withdraw-vote", {})
    assert again.status_code == 409 and "no vote of yours to withdraw" in again.text
    state = world.client("checker2").get(f"releases/{rid}").json()["files"][0]["state"]
    assert state == "in_review"


# -- the auditors' record ------------------------------------------------------------------


def audit_of(world, **params) -> list[dict]:
    """Every audit event matching `params`, oldest first."""
    items, url = [], "audit"
    query = {**params, "limit": 500}
    while url:
        page = world.client("admin").get(url, params=query).json()
        items += page["items"]
        url, query = page["next"], None
    return items[::-1]


def a_record(world):
    """Two releases: one published after a withdrawn and recast approval, one in review."""
    published = approved(world, "output/table.csv", "output/other.csv")
    rid = published["id"]
    first = next(f for f in published["files"] if f["path"] == "output/table.csv")
    votes = f"releases/{rid}/files/{first['id']}/reviews"
    world.client("checker2").delete(votes)
    world.client("checker3").post(votes, json={"decision": "approve", "comment": "fine"})
    world.client("checker1").put(votes, json={"decision": "approve", "comment": "on reflection"})
    world.client("publisher").post(f"releases/{rid}/publish").raise_for_status()
    job = finished(world, {"output/later.csv": TABLE})
    group = {
        "context": "c",
        "disclosure_control": "d",
        "files": [{"job": job, "path": "output/later.csv"}],
    }
    open_one = ask_group(world.client("dev"), job, group).json()
    world.client("checker1").post(
        f"releases/{open_one['id']}/files/{open_one['files'][0]['id']}/reviews",
        json={"decision": "request_changes", "comment": "round it"},
    )
    return rid, open_one["id"]


def test_the_record_matches_the_audit_trail(reviewers):
    world = reviewers
    published, pending = a_record(world)
    got = world.client("checker1").get("release-decisions", params={"project": "sample-study"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/json")
    record = got.json()
    assert [(d["release"], d["path"]) for d in record] == [
        (published, "output/other.csv"),
        (published, "output/table.csv"),
        (pending, "output/later.csv"),
    ]
    files = {
        f["id"]: f
        for rid in (published, pending)
        for f in world.client("checker1").get(f"releases/{rid}").json()["files"]
    }
    reviews = audit_of(world, action="release_file.review")
    withdrawals = audit_of(world, action="release_file.review_withdraw")
    releases = audit_of(world, action="release_file.released")
    for d in record:
        assert (d["sha256"], d["size"], d["state"]) == (
            files[d["file"]]["sha256"],
            files[d["file"]]["size"],
            files[d["file"]]["state"],
        )
        assert d["sha256"] == sha(TABLE) and d["requested_by"] == "dev"
        for vote in d["votes"]:
            cast = [
                e for e in reviews if e["target_id"] == d["file"] and e["actor"] == vote["reviewer"]
            ]
            assert cast and cast[-1]["after"]["decision"] == vote["decision"], (d["path"], vote)
            assert (vote["changed_at"] is None) == (len(cast) == 1)
        taken = [e for e in withdrawals if e["target_id"] == d["file"]]
        assert [(v["reviewer"], v["decision"]) for v in d["withdrawn_votes"]] == [
            (e["actor"], e["before"]["decision"]) for e in taken
        ]
        out = [e for e in releases if e["target_id"] == d["file"]]
        if out:
            assert d["published_by"] == out[0]["actor"] == "publisher"
            assert dt.datetime.fromisoformat(d["published_at"]) == dt.datetime.fromisoformat(
                out[0]["created_at"]
            )
        else:
            assert d["published_by"] is d["published_at"] is None
    table = next(d for d in record if d["path"] == "output/table.csv")
    assert [(v["reviewer"], v["comment"]) for v in table["votes"]] == [
        ("checker1", "on reflection"),
        ("checker3", "fine"),
    ]
    assert [v["reviewer"] for v in table["withdrawn_votes"]] == ["checker2"]
    assert table["withdrawn_votes"][0]["withdrawn_at"] and table["state"] == "released"
    later = record[-1]
    assert later["votes"][0]["decision"] == "request_changes" and later["state"] == "in_review"

    read = audit_of(world, action="release.export")
    assert [(e["actor"], e["after"]["project"], e["after"]["format"]) for e in read] == [
        ("checker1", "sample-study", "json")
    ]


def test_the_record_as_csv_one_row_per_vote(reviewers):
    world = reviewers
    a_record(world)
    record = world.client("admin").get("release-decisions").json()
    got = world.client("admin").get("release-decisions", params={"format": "csv"})
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(got.text)))
    assert tuple(csv.DictReader(io.StringIO(got.text)).fieldnames) == CSV_COLUMNS
    expected = [
        (d["file"], v["reviewer"], v["decision"], v["comment"])
        for d in record
        for v in d["votes"] + d["withdrawn_votes"]
    ]
    assert [(r["file"], r["reviewer"], r["decision"], r["comment"]) for r in rows] == expected
    table = [r for r in rows if r["path"] == "output/table.csv"]
    assert {r["sha256"] for r in table} == {sha(TABLE)} and {r["published_by"] for r in table} == {
        "publisher"
    }
    assert [r["reviewer"] for r in table if r["withdrawn_at"]] == ["checker2"]


def test_the_record_by_date_range_and_project(reviewers):
    world = reviewers
    published, pending = a_record(world)
    from sqlalchemy import update

    from jupyter_ext.jobserver import orm

    with world.factory() as session:  # the published one was asked for in January 2025
        january = dt.datetime(2025, 1, 15, 23, 59, tzinfo=dt.UTC)
        session.execute(
            update(orm.Release).where(orm.Release.id == published).values(created_at=january)
        )
        session.commit()
    checker = world.client("checker2")

    def releases(**params) -> list[str]:
        got = checker.get("release-decisions", params=params)
        assert got.status_code == 200, got.text
        return sorted({d["release"] for d in got.json()})

    assert releases(**{"from": "2025-01-01", "to": "2025-01-15"}) == [published]
    assert releases(**{"from": "2025-01-16"}) == [pending]
    assert releases(to="2025-01-14") == []
    assert releases() == sorted([published, pending])
    world.project("uni", "Other study")
    assert releases(project="other-study") == []
    assert releases(project="sample-study", to="2025-12-31") == [published]
    missing = checker.get("release-decisions", params={"project": "nowhere"})
    assert missing.status_code == 404
    swapped = checker.get("release-decisions", params={"from": "2025-02-01", "to": "2025-01-01"})
    assert swapped.status_code == 422 and "swap them" in swapped.json()["detail"]


def test_who_may_read_the_record(reviewers):
    world = reviewers
    a_record(world)
    for name in ("dev", "collab", "coord", "publisher"):
        refused = world.client(name).get("release-decisions")
        assert refused.status_code == 403, name
    assert refused.json()["detail"] == (
        "publisher may not read the record of release decisions: only administrators and "
        "output checkers may (a site's own checkers, for what leaves that site)"
    )
    world.backend("spare")
    admin = world.client("admin")
    for user, site in (("tpp-checker", "tpp"), ("spare-checker", "spare")):
        world.user(user)
        admin.put(
            f"backends/{site}/members/{user}", json={"roles": ["output_checker"]}
        ).raise_for_status()
    ours = world.client("tpp-checker").get("release-decisions").json()
    assert {d["backend"] for d in ours} == {"tpp"} and len(ours) == 3
    assert world.client("spare-checker").get("release-decisions").json() == []
    read = audit_of(world, action="release.export", actor="spare-checker")
    assert len(read) == 1 and read[0]["after"]["sites"] != "all"


def test_the_record_is_read_a_page_of_releases_at_a_time(reviewers):
    from jupyter_ext.jobserver.services.release_record import RecordScope, decisions

    world = reviewers
    a_record(world)
    approved(world, "output/third.csv")
    everything = RecordScope(None, None, None, None, "all")
    whole = [d.file for d in decisions(world.factory, everything)]
    assert len(whole) == 4
    assert [d.file for d in decisions(world.factory, everything, page=1)] == whole
