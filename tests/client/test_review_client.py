"""The review of a release from the client: the queue of files waiting for a vote, votes and
changed votes, comments, new versions, withdrawal, delete and restore, sync and async."""

from __future__ import annotations

import asyncio

import pytest

from jupyter_ext.client import AsyncClient, Conflict, Forbidden, JobServerError, ValidationError
from jupyter_ext.client.reviewing import waiting_files

from ..jobserver.test_review import TABLE, finished
from .conftest import root

ROUNDED = b"region,count\nnorth,35\nsouth,40\nwest,10\n"


def group(job: str) -> dict:
    return {
        "context": "counts by region",
        "disclosure_control": "rounded to 5",
        "files": [{"job": job, "path": "output/table.csv"}],
    }


@pytest.fixture
def checkers(world):
    for name in ("checker1", "checker2", "checker3"):
        world.user(name, ["output_checker"])
    world.user("publisher", ["output_publisher"])
    return world


def waiting_ids(client, username: str) -> list[str]:
    return [f.id for r in client.releases.to_review() for f in waiting_files(r, username)]


def test_a_file_is_reviewed_answered_replaced_and_voted_again(checkers, connect, tmp_path):
    dev, c1, c2, c3 = (connect(n) for n in ("dev", "checker1", "checker2", "checker3"))
    job = finished(checkers, {"output/table.csv": TABLE})
    release = dev.releases.create("sample", backend="tpp", groups={"tables": group(job)})
    (v1,) = release.files
    assert [r.id for r in c1.releases.to_review()] == [release.id]
    assert dev.releases.to_review() == []  # an author never reviews their own request

    c1.releases.review(release, v1, "request_changes", "round the counts")
    assert c1.releases.to_review() == [] and waiting_ids(c2, "checker2") == [v1.id]
    both = c2.releases.review(release, v1, "request_changes")
    assert both.files[0].state == "changes_requested"
    assert {r.reviewer for r in both.files[0].reviews} == {"checker1", "checker2"}
    assert c3.releases.to_review() == []  # settled: nothing waits for a third

    answered = dev.releases.comment(release, v1, "now rounded to 5")
    assert [(c.author, c.text) for c in answered.files[0].comments] == [("dev", "now rounded to 5")]
    newer = finished(checkers, {"output/table.csv": ROUNDED})
    with pytest.raises(Forbidden, match="may not request releases"):
        c1.releases.replace(release, v1, newer)
    with pytest.raises(ValidationError, match="byte for byte"):
        dev.releases.replace(release, v1, v1.job)
    replaced = dev.releases.replace(release, v1, dev.jobs.get(newer), comment="rounded")
    latest, old = replaced.files  # the latest version first, the old one kept
    assert (latest.version, latest.replaces, old.state) == (2, v1.id, "superseded")
    assert latest.comments[0].text == "rounded"
    assert waiting_ids(c1, "checker1") == [latest.id] == waiting_ids(c2, "checker2")

    c1.releases.review(release, latest, "reject", "still too fine")
    tied = c2.releases.review(release, latest, "approve")
    assert tied.files[0].state == "in_review"
    assert waiting_ids(c3, "checker3") == [latest.id]  # a tie waits for a third checker
    assert c1.releases.to_review() == []
    with pytest.raises(Conflict, match="change your vote with PUT"):
        c1.releases.review(release, latest, "approve")
    changed = c1.releases.change_review(release, latest, "approve", "convinced")
    assert changed.files[0].state == "approved" and c3.releases.to_review() == []
    with pytest.raises(Conflict, match="superseded"):
        c1.releases.change_review(release, v1, "approve")
    with pytest.raises(Forbidden, match="may not request releases"):
        c1.releases.withdraw(release)

    publisher = connect("publisher")
    assert publisher.releases.publish(release).state == "released"
    runner = checkers.client(token=checkers.runner_token)
    assert runner.put(f"runner/release-files/{latest.id}", content=ROUNDED).status_code == 204
    assert publisher.releases.delete_file(latest) == {"id": latest.id, "deleted": True}
    file = dev.releases.get(release.id).files[0]
    assert file.deleted
    with pytest.raises(JobServerError, match="deleted by publisher") as gone:
        dev.releases.download(file, tmp_path / "gone.csv")
    assert gone.value.status == 410
    with pytest.raises(Forbidden):
        publisher.releases.restore_file(latest.id)
    assert connect("admin").releases.restore_file(latest.id) == {"id": latest.id, "deleted": False}
    assert dev.releases.download(file, tmp_path / "back.csv").read_bytes() == ROUNDED


def test_an_author_withdraws_and_nothing_waits_any_more(checkers, connect):
    dev, c1 = connect("dev"), connect("checker1")
    job = finished(checkers, {"output/table.csv": TABLE})
    release = dev.releases.create("sample", backend="tpp", groups={"tables": group(job)})
    assert [r.id for r in c1.releases.to_review()] == [release.id]
    withdrawn = dev.releases.withdraw(release.id)
    assert withdrawn.state == "withdrawn" and withdrawn.files[0].state == "withdrawn"
    assert c1.releases.to_review() == []
    with pytest.raises(Conflict, match="withdrawn"):
        dev.releases.withdraw(release)


def test_the_async_client_reviews_too(checkers, connect):
    job = finished(checkers, {"output/table.csv": TABLE})
    release = connect("dev").releases.create("sample", backend="tpp", groups={"tables": group(job)})

    async def main():
        async with AsyncClient(root(checkers), token=checkers.tokens["checker1"]) as c1:
            queue = await c1.releases.to_review()
            file = waiting_files(queue[0], "checker1")[0]
            await c1.releases.review(queue[0], file, "approve")
            noted = await c1.releases.comment(queue[0], file, "fine by me")
            return [r.id for r in queue], noted, await c1.releases.to_review()

    ids, noted, after = asyncio.run(main())
    assert ids == [release.id] and after == []
    assert noted.files[0].comments[0].author == "checker1"
    assert noted.files[0].state == "in_review"
