"""The checkers' desk, `GET /releases/queue` (issue 23): the backlog oldest first, what waits
for the caller and who holds each release (never how they voted), a site's checkers seeing
only their site's, the caller's own votes, and the median time from request to decision over
the last 30 days, read from the audit trail. Times are set in the database to control ages.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
from sqlalchemy import event, select, update

from jupyter_ext.jobserver import orm

from .test_review import ask, finished, reviewers  # noqa: F401 (a fixture)

DAY, HOUR = dt.timedelta(days=1), dt.timedelta(hours=1)
DECIDED = ("release_file.approved", "release_file.changes_requested", "release_file.rejected")


def table(n: int) -> bytes:
    return f"region,count\nnorth,{35 + 5 * n}\nsouth,40\n".encode()


def requested(world, who: str = "dev", files: int = 1) -> dict:
    """A release by `who` of `files` tables of one finished job."""
    paths = [f"output/table{i}.csv" for i in range(files)]
    job = finished(world, {p: table(i) for i, p in enumerate(paths)})
    answer = ask(world.client(who), job, *paths)
    assert answer.status_code == 201, answer.text
    return answer.json()


def vote(world, who: str, release: dict, index: int, decision: str, change: bool = False):
    fid = release["files"][index]["id"]
    url = f"releases/{release['id']}/files/{fid}/reviews"
    sent = world.client(who).request("PUT" if change else "POST", url, json={"decision": decision})
    assert sent.status_code in (200, 201), sent.text


def asked_at(world, release: dict, when: dt.datetime) -> None:
    with world.factory() as session:
        session.execute(
            update(orm.Release).where(orm.Release.id == release["id"]).values(created_at=when)
        )
        session.commit()


def decided_at(world, file_id: str, *moments: dt.datetime) -> None:
    """The file's decision events (in the order written) happened at `moments`."""
    with world.factory() as session:
        events = session.scalars(
            select(orm.AuditEvent)
            .where(
                orm.AuditEvent.target_type == "release_file",
                orm.AuditEvent.target_id == file_id,
                orm.AuditEvent.action.in_(DECIDED),
            )
            .order_by(orm.AuditEvent.id)
        ).all()
        assert len(events) == len(moments), [e.action for e in events]
        for row, moment in zip(events, moments, strict=True):
            row.created_at = moment
        session.commit()


def desk(world, who: str, **params) -> dict:
    answer = world.client(who).get("releases/queue", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def ids(found: dict) -> list[str]:
    return [r["id"] for r in found["backlog"]]


def site_checker(world, who: str, site: str) -> None:
    world.user(who)
    named = world.client("admin").put(
        f"backends/{site}/members/{who}", json={"roles": ["output_checker"]}
    )
    assert named.status_code == 200, named.text


def other_site_release(world, created_at: dt.datetime) -> str:
    """A release of the workspace at a second site, `other`, asked for by dev (seeded: the
    sample runner serves tpp only); its one file's id."""
    world.backend("other")
    with world.factory() as session:
        job = session.scalar(select(orm.Job).order_by(orm.Job.id))
        other = session.scalar(select(orm.Backend).where(orm.Backend.slug == "other"))
        dev = session.scalar(select(orm.User).where(orm.User.username == "dev"))
        release = orm.Release(
            workspace_id=job.workspace_id,
            backend_id=other.id,
            created_by_id=dev.id,
            created_at=created_at,
            groups={"g": {"context": "c", "disclosure_control": "d"}},
        )
        release.files.append(
            orm.ReleaseFile(job_id=job.id, group="g", path="output/o.csv", sha256="0" * 64, size=3)
        )
        session.add(release)
        session.commit()
        return release.files[0].id


def test_the_backlog_is_oldest_first_with_what_waits_and_who_holds_it(reviewers):  # noqa: F811
    world = reviewers
    now = orm.utcnow()
    first, second, third = (requested(world, files=n) for n in (1, 2, 1))
    asked_at(world, first, now - 2 * HOUR)
    asked_at(world, second, now - 3 * DAY)
    asked_at(world, third, now - 5 * HOUR)
    vote(world, "checker1", second, 0, "approve")
    vote(world, "checker1", third, 0, "approve")
    vote(world, "checker2", third, 0, "reject")  # a tie: the third checker breaks it

    mine = desk(world, "checker3")
    assert ids(mine) == [second["id"], third["id"], first["id"]] and mine["backlog_total"] == 3
    assert mine["checker"] == "checker3" and mine["sites"] == []
    oldest = mine["backlog"][0]
    assert oldest["age_seconds"] >= 3 * 86400 - 60 and oldest["created_by"] == "dev"
    assert oldest["files"] == {"in_review": 1, "requested": 1}
    assert [f["path"] for f in oldest["waiting_for_you"]] == [
        "output/table0.csv",
        "output/table1.csv",
    ]
    assert oldest["held_by"] == ["checker1"]
    (tied,) = mine["backlog"][1]["waiting_for_you"]
    assert tied["tie"] is True and mine["backlog"][1]["held_by"] == ["checker1", "checker2"]
    assert mine["backlog"][2]["waiting_for_you"][0]["tie"] is False

    # who holds it, never how they voted: no decision of another checker in the answer
    assert "approve" not in json.dumps(mine) and "reject" not in json.dumps(mine)
    held = desk(world, "checker1")
    assert [f["path"] for f in held["backlog"][0]["waiting_for_you"]] == ["output/table1.csv"]
    assert held["backlog"][1]["waiting_for_you"] == []  # voted: it holds, nothing waits
    assert desk(world, "checker3", limit=1)["backlog_total"] == 3
    assert ids(desk(world, "checker3", limit=1)) == [second["id"]]

    vote(world, "checker3", third, 0, "approve")  # decided: out of the backlog
    vote(world, "checker2", second, 0, "approve")
    vote(world, "checker2", second, 1, "approve")
    vote(world, "checker3", second, 1, "approve")
    assert ids(desk(world, "checker1")) == [first["id"]]


def test_only_output_checkers_have_a_desk(reviewers):  # noqa: F811
    world = reviewers
    for who in ("dev", "collab", "admin", "publisher", "outsider"):
        refused = world.client(who).get("releases/queue")
        assert refused.status_code == 403, who
        assert "the checkers' desk is for output checkers" in refused.json()["detail"]
    assert world.client().get("releases/queue").status_code == 401
    bad = world.client("checker1").get("releases/queue", params={"limit": 0})
    assert bad.status_code == 422


def test_a_checkers_own_requests_are_never_in_their_backlog(reviewers):  # noqa: F811
    world = reviewers
    world.client("admin").post(
        "projects/sample-study/members",
        json={"username": "checker3", "roles": ["project_developer"]},
    ).raise_for_status()
    theirs = requested(world, who="checker3")
    devs = requested(world)
    assert ids(desk(world, "checker3")) == [devs["id"]]
    assert ids(desk(world, "checker1")) == [theirs["id"], devs["id"]]


def test_a_sites_checker_sees_only_their_sites_releases(reviewers):  # noqa: F811
    world = reviewers
    site_checker(world, "tppchecker", "tpp")
    here = requested(world)
    other_file = other_site_release(world, orm.utcnow() - DAY)
    site_checker(world, "otherchecker", "other")
    tpp = desk(world, "tppchecker")
    assert ids(tpp) == [here["id"]] and tpp["sites"] == ["tpp"]
    assert tpp["decision_times_yours"]["sites"] == ["tpp"]
    other = desk(world, "otherchecker")
    assert [r["backend"] for r in other["backlog"]] == ["other"]
    assert other["backlog"][0]["waiting_for_you"][0]["id"] == other_file
    assert [r["backend"] for r in desk(world, "checker1")["backlog"]] == ["other", "tpp"]


def test_the_history_is_the_callers_votes_latest_first_a_page_at_a_time(reviewers):  # noqa: F811
    world = reviewers
    releases = [requested(world) for _ in range(3)]
    for release in releases:
        vote(world, "checker1", release, 0, "approve")
    vote(world, "checker2", releases[0], 0, "approve")  # approved now
    vote(world, "checker1", releases[1], 0, "request_changes", change=True)
    vote(world, "checker2", releases[2], 0, "reject")  # someone else's vote: not theirs

    page = desk(world, "checker1", history=2)
    votes = page["history"]
    assert [v["release"] for v in votes] == [releases[2]["id"], releases[1]["id"]]
    assert votes[1]["decision"] == "request_changes" and votes[1]["changed_at"] is not None
    assert votes[0]["decision"] == "approve" and votes[0]["changed_at"] is None
    assert votes[0]["path"] == "output/table0.csv" and votes[0]["version"] == 1
    assert page["history_before"] == votes[1]["id"]
    older = desk(world, "checker1", history=2, before=page["history_before"])
    (last,) = older["history"]
    assert last["release"] == releases[0]["id"] and last["file_state"] == "approved"
    assert older["history_before"] is None
    assert [v["decision"] for v in desk(world, "checker2")["history"]] == ["reject", "approve"]
    assert desk(world, "checker3")["history"] == []


def test_the_median_time_to_a_decision_over_the_last_30_days(reviewers):  # noqa: F811
    world = reviewers
    site_checker(world, "tppchecker", "tpp")
    now = orm.utcnow()
    for taken in (2, 10, 30):  # decided in the window, at tpp, `taken` hours after asked
        release = requested(world)
        vote(world, "checker1", release, 0, "approve")
        vote(world, "checker2", release, 0, "reject" if taken == 30 else "approve")
        if taken == 30:  # a tie, broken by a third checker: decided when they voted
            vote(world, "checker3", release, 0, "reject")
        asked_at(world, release, now - 5 * DAY - taken * HOUR)
        decided_at(world, release["files"][0]["id"], now - 5 * DAY)

    old = requested(world)  # decided 40 days ago: out of the window
    vote(world, "checker1", old, 0, "approve")
    vote(world, "checker2", old, 0, "approve")
    asked_at(world, old, now - 41 * DAY)
    decided_at(world, old["files"][0]["id"], now - 40 * DAY)

    again = requested(world)  # first decided 40 days ago, decided again since: out
    vote(world, "checker1", again, 0, "approve")
    vote(world, "checker2", again, 0, "approve")
    vote(world, "checker1", again, 0, "reject", change=True)  # a tie again
    vote(world, "checker3", again, 0, "approve")  # approved a second time
    asked_at(world, again, now - 41 * DAY)
    decided_at(world, again["files"][0]["id"], now - 40 * DAY, now - DAY)

    waiting = requested(world)  # not decided: not counted
    vote(world, "checker1", waiting, 0, "approve")

    other = other_site_release(world, now - 3 * DAY)  # decided after 50 h at another site
    with world.factory() as session:
        session.add(
            orm.AuditEvent(
                actor="checker2",
                action="release_file.approved",
                target_type="release_file",
                target_id=other,
                before={"state": "in_review"},
                after={"state": "approved"},
                created_at=now - 3 * DAY + 50 * HOUR,
            )
        )
        session.commit()

    everywhere = desk(world, "checker1")
    assert everywhere["window_days"] == 30
    overall = everywhere["decision_times"]
    assert overall["files"] == 4 and overall["median_seconds"] == pytest.approx(20 * 3600, abs=1)
    assert everywhere["decision_times_yours"] == overall  # a global checker: every site
    tpp = desk(world, "tppchecker")
    assert tpp["decision_times"] == overall
    yours = tpp["decision_times_yours"]
    assert yours["sites"] == ["tpp"] and yours["files"] == 3
    assert yours["median_seconds"] == pytest.approx(10 * 3600, abs=1)


def test_the_desk_asks_the_same_queries_for_one_release_or_many(reviewers):  # noqa: F811
    """No query per release: the backlog, its files and votes, the history and the decisions
    are each one query, whatever their length."""
    world = reviewers

    def statements(who: str) -> int:
        seen = []

        def note(conn, cursor, statement, *rest):
            seen.append(statement)

        event.listen(world.engine, "before_cursor_execute", note)
        try:
            desk(world, who)
        finally:
            event.remove(world.engine, "before_cursor_execute", note)
        return len(seen)

    release = requested(world, files=2)
    vote(world, "checker1", release, 0, "approve")
    desk(world, "checker2")  # its token's first use is noted once
    few = statements("checker2")
    for _ in range(5):
        more = requested(world, files=2)
        vote(world, "checker1", more, 0, "approve")
        vote(world, "checker2", more, 1, "approve")
    assert len(desk(world, "checker2")["backlog"]) == 6 and statements("checker2") == few
