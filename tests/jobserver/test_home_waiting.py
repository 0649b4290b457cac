"""The home page lists the work waiting for output checkers and publishers (issue 19, item 6).

A checker sees the releases with files waiting for their vote (never their own), a
publisher those with approved files to publish; each links to its release page and says
how long it has waited. Others see no such list. Each list is one query.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event

from jupyter_ext.jobserver.deps import Caller
from jupyter_ext.jobserver.pages import waiting

from .test_pages import get
from .test_review import ask, finished, reviewers  # noqa: F401 (a fixture)

RELEASES = "/uni/sample-study/sample/releases/"


def test_checkers_and_publishers_find_what_waits_for_them(reviewers):  # noqa: F811
    world = reviewers
    job = finished(world, {"output/table.csv": b"region,count\nnorth,35\n"})
    release = ask(world.client("dev"), job, "output/table.csv").json()
    home = get(world, "checker1", "/")
    assert 'id="to-review"' in home.text and release["id"] in home.text
    assert f'{RELEASES}{release["id"]}">Release' in home.text
    assert "1 file waiting for your vote" in home.text and "waiting 0 s" in home.text
    for who in ("dev", "collab", "coord"):
        assert "Waiting for you" not in get(world, who, "/").text, who
    assert 'id="to-publish-none"' in get(world, "publisher", "/").text

    fid = release["files"][0]["id"]
    vote = f"releases/{release['id']}/files/{fid}/reviews"
    assert world.client("checker1").post(vote, json={"decision": "approve"}).status_code == 201
    assert 'id="to-review-none"' in get(world, "checker1", "/").text  # voted: no longer waits
    assert 'id="to-review"' in get(world, "checker2", "/").text
    assert world.client("checker2").post(vote, json={"decision": "approve"}).status_code == 201
    assert 'id="to-review-none"' in get(world, "checker3", "/").text  # decided: none needed
    publisher = get(world, "publisher", "/")
    assert 'id="to-publish"' in publisher.text and "1 file approved, to publish" in publisher.text
    world.client("publisher").post(f"releases/{release['id']}/publish").raise_for_status()
    assert 'id="to-publish-none"' in get(world, "publisher", "/").text


def test_a_checkers_own_release_never_waits_for_them_and_each_list_is_one_query(reviewers):  # noqa: F811
    world = reviewers
    world.client("admin").post(
        "projects/sample-study/members",
        json={"username": "checker3", "roles": ["project_developer"]},
    ).raise_for_status()
    job = finished(world, {"output/table.csv": b"region,count\nnorth,35\n"})
    ask(world.client("checker3"), job, "output/table.csv").raise_for_status()
    statements = []

    def seen(conn, cursor, statement, *rest):
        statements.append(statement)

    with world.factory() as session:
        own_caller = Caller(user("checker3", session), session)
        other_caller = Caller(user("checker1", session), session)
        event.listen(session.bind, "before_cursor_execute", seen)
        try:
            own = waiting.to_review(session, own_caller)
            mark = len(statements)
            other = waiting.to_review(session, other_caller)
            asked = len(statements) - mark
        finally:
            event.remove(session.bind, "before_cursor_execute", seen)
    assert own == [] and len(other) == 1 and other[0].files == 1
    assert asked == 1, statements[mark:]


def user(name, session):
    from sqlalchemy import select

    from jupyter_ext.jobserver import orm

    return session.scalar(select(orm.User).where(orm.User.username == name))


def test_ages_read_in_a_unit_that_fits():
    said = [waiting.age(dt.timedelta(seconds=s)) for s in (-5, 40, 750, 5 * 3600, 4 * 86400)]
    assert said == ["0 s", "40 s", "12 min", "5 h", "4 days"]
