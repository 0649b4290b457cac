"""Files under review reach their output checkers, and no one else (issue 19, item 7).

A real runner (local executor) against the real job server: the sample project runs, its
table and plot are asked for, and the runner sends each for review on a heartbeat, from
the site's store, checked against its own record. A checker reads it through the API and
the pages, every read audited; its author, a collaborator, a publisher, an analyst of
another project and the public cannot. A file whose bytes changed on the site is never
sent, and bytes that do not hash to the frozen sha256 are refused by the job server.
"""

from __future__ import annotations

import hashlib
import time

import pytest
from sqlalchemy import select

from jupyter_ext.jobserver import orm
from jupyter_ext.jobserver.serving import FILE_POLICY

from ..runner.test_local_runner import RunnerThread
from ..runner.test_uploads import PLOT, TABLE, run, world_at

PAGE = "uni/sample-study/sample/releases"


def ask(world, files: list[tuple[str, str]], who: str = "dev") -> dict:
    """A release of (job, path) files asked for by `who`, not voted on: {path: file id}."""
    group = {
        "context": "counts by region",
        "disclosure_control": "rounded to 5",
        "files": [{"job": job, "path": path} for job, path in files],
    }
    created = world.client(who).post(
        "releases", json={"workspace": "sample", "backend": "tpp", "groups": {"g": group}}
    )
    assert created.status_code == 201, created.text
    world.release_id = created.json()["id"]
    return {f["path"]: f["id"] for f in created.json()["files"]}


def copy_url(world, file_id: str) -> str:
    return f"releases/{world.release_id}/files/{file_id}/review-copy"


def row(world, file_id: str) -> orm.ReleaseFile:
    with world.factory() as session:
        found = session.get(orm.ReleaseFile, file_id)
        session.expunge(found)
        return found


def wait_settled(world, file_id: str, timeout: float = 30) -> orm.ReleaseFile:
    """The file once its site has sent it for review or refused to."""
    deadline = time.monotonic() + timeout
    while (found := row(world, file_id)).review_uploaded_at is None and not found.review_refused:
        assert time.monotonic() < deadline, "the site never sent the file for review"
        time.sleep(0.2)
    return found


def audited(world, action: str) -> list[dict]:
    found = world.client("admin").get("audit", params={"action": action, "limit": 100})
    return found.json()["items"]


def page(world, who: str | None, path: str):
    client = world.client(who) if who else world.client()
    return client.get(world.base_url.removesuffix("api/v1/") + path, follow_redirects=False)


@pytest.fixture
def people(tmp_path):
    world = world_at(tmp_path)
    for name in ("checker1", "checker2"):
        world.user(name, ["output_checker"])
    world.user("publisher", ["output_publisher"])
    world.user("other")
    world.project("uni", "Other study", {"other": ["project_developer"]})
    try:
        yield world
    finally:
        world.close()


def test_a_checker_reads_the_file_under_review_and_no_one_else(people, tmp_path):
    world, site = people, tmp_path / "site"
    with RunnerThread(world, site):
        jobs = run(world, ["make_table"])
        # a checker who is also a developer of the project asks for the same table
        world.user("chauthor", ["output_checker"])
        member = {"username": "chauthor", "roles": ["project_developer"]}
        world.client("admin").post("projects/sample-study/members", json=member)
        (own_id,) = ask(world, [(jobs["make_table"], TABLE)], "chauthor").values()
        own_release = world.release_id
        (file_id,) = ask(world, [(jobs["make_table"], TABLE)]).values()
        assert wait_settled(world, file_id).review_refused is None
        assert wait_settled(world, own_id).review_refused is None
    on_site = (site / "workspaces" / "sample" / TABLE).read_bytes()
    sha = hashlib.sha256(on_site).hexdigest()
    kept = tmp_path / "releases" / "review" / sha[:2] / sha
    assert kept.read_bytes() == on_site  # apart from released files
    assert not (tmp_path / "releases" / sha[:2]).exists()  # nothing is released

    read = world.client("checker1").get(copy_url(world, file_id))
    assert read.status_code == 200, read.text
    assert read.content == on_site
    assert read.headers["content-security-policy"] == FILE_POLICY
    assert read.headers["x-content-type-options"] == "nosniff"
    assert read.headers["content-type"].startswith("text/csv")
    release = world.client("checker1").get(f"releases/{world.release_id}").json()
    assert release["files"][0]["review_copy"] is True

    # the release page links the name; the file's page shows the table, saying what it is
    listing = page(world, "checker1", f"{PAGE}/{world.release_id}")
    assert f'{world.release_id}/files/{file_id}" class="jx-file-link"' in listing.text
    viewer = page(world, "checker1", f"{PAGE}/{world.release_id}/files/{file_id}")
    assert viewer.status_code == 200, viewer.text
    assert 'id="under-review"' in viewer.text and '<table class="table table-sm' in viewer.text
    assert f"{world.release_id}/files/{file_id}/review-copy" in viewer.text

    refused = {
        "dev": 403,  # its author: the review copy is for the checkers
        "collab": 403,  # a collaborator sees released files only
        "coord": 403,
        "publisher": 403,  # publishes approved files, does not read them under review
        "other": 403,  # an analyst of another project
        "outsider": 403,
        None: 401,  # the public
    }
    for who, status in refused.items():
        client = world.client(who) if who else world.client()
        assert client.get(copy_url(world, file_id)).status_code == status, who
        answer = page(world, who, f"{PAGE}/{world.release_id}/files/{file_id}")
        assert answer.status_code in (status, 302, 303) if who is None else (status,), who
        assert on_site.decode() not in answer.text, who
    # a checker never reads their own release's files: theirs is the copy on the site
    mine = world.client("chauthor").get(f"releases/{own_release}/files/{own_id}/review-copy")
    assert mine.status_code == 403
    assert "your output is in your workspace on the site" in mine.json()["detail"]
    assert world.client("chauthor").get(copy_url(world, file_id)).status_code == 200
    assert f'files/{file_id}" class' not in page(world, "dev", f"{PAGE}/{world.release_id}").text

    views = audited(world, "release_file.review_view")
    assert [(v["actor"], v["target_id"], v["after"]["via"]) for v in reversed(views)] == [
        ("checker1", file_id, "api"),
        ("checker1", file_id, "page"),
        ("chauthor", file_id, "api"),
    ]
    sent = audited(world, "release_file.review_upload")
    assert {(e["actor"], e["target_id"], e["after"]["sha256"]) for e in sent} == {
        ("runner:tpp", file_id, sha),
        ("runner:tpp", own_id, sha),
    }

    # once the votes settle it, it is no longer under review: the copy is not read any more
    for name in ("checker1", "checker2"):
        vote = f"releases/{world.release_id}/files/{file_id}/reviews"
        assert world.client(name).post(vote, json={"decision": "reject"}).status_code == 201
    again = world.client("checker1").get(copy_url(world, file_id))
    assert again.status_code == 200  # rejected is still open: a vote may change
    world.client("dev").post(f"releases/{world.release_id}/withdraw").raise_for_status()
    gone = world.client("checker1").get(copy_url(world, file_id))
    assert gone.status_code == 409 and "no longer under review" in gone.json()["detail"]


def test_bytes_changed_on_the_site_are_never_sent_for_review(people, tmp_path):
    world, site = people, tmp_path / "site"
    with RunnerThread(world, site):
        jobs = run(world, ["make_table", "make_plot"])
        space = site / "workspaces" / "sample"
        plot_sha = hashlib.sha256((space / PLOT).read_bytes()).hexdigest()
        stored = site / "store" / plot_sha[:2] / plot_sha
        stored.chmod(0o644)
        stored.write_bytes(stored.read_bytes() + b"<!-- changed on the site -->")
        ids = ask(world, [(jobs["make_table"], TABLE), (jobs["make_plot"], PLOT)])
        plot = wait_settled(world, ids[PLOT])
        assert wait_settled(world, ids[TABLE]).review_uploaded_at is not None
    assert plot.review_uploaded_at is None
    assert plot.review_refused == "its bytes in the site's store have changed"
    assert str(tmp_path) not in plot.review_refused
    assert not (tmp_path / "releases" / "review" / plot_sha[:2]).exists()
    read = world.client("checker1").get(copy_url(world, ids[PLOT]))
    assert read.status_code == 409 and "would not send" in read.json()["detail"]
    (refusal,) = audited(world, "release_file.review_upload_refused")
    assert refusal["target_id"] == ids[PLOT]
    # the release upload is a separate matter: nothing was published, nothing refused there
    assert row(world, ids[PLOT]).upload_refused is None


def test_the_job_server_keeps_only_the_frozen_bytes_under_review(people, tmp_path):
    """A runner (or a line) sending other bytes is refused; a file not under review is not
    taken; the review copy never becomes a released file."""
    world = people
    from ..jobserver.test_review import ask as ask_one
    from ..jobserver.test_review import finished

    table = b"region,count\nnorth,35\n"
    job = finished(world, {"output/table.csv": table})
    release = ask_one(world.client("dev"), job, "output/table.csv").json()
    world.release_id, file_id = release["id"], release["files"][0]["id"]
    runner = world.client(token=world.runner_token)
    wrong = runner.put(f"runner/review-files/{file_id}", content=b"region,count\nnorth,3\n")
    assert wrong.status_code == 422 and "does not match the frozen file" in wrong.text
    assert world.client("checker1").get(copy_url(world, file_id)).status_code == 409
    assert runner.put(f"runner/review-files/{file_id}", content=table).status_code == 204
    assert runner.put(f"runner/review-files/{file_id}", content=table).status_code == 409
    assert world.client("checker1").get(copy_url(world, file_id)).content == table
    released = world.client("checker1").get(
        world.base_url.removesuffix("api/v1/") + f"api/v2/releases/file/{file_id}"
    )
    assert released.status_code == 409  # under review is not released
    with world.factory() as session:
        kinds = session.scalars(
            select(orm.AuditEvent.action).where(orm.AuditEvent.target_id == file_id)
        ).all()
    assert "release_file.review_upload.refused" in kinds
    assert "release_file.review_upload" in kinds


def test_a_site_that_keeps_files_under_review_sends_none(people, tmp_path):
    """`c.RunnerApp.review_copies = False`: the site refuses each review copy, saying how the
    checkers judge instead; nothing reaches the job server, and the vote goes on."""
    world = people
    with RunnerThread(world, tmp_path / "site", review_copies=False):
        jobs = run(world, ["make_table"])
        ids = ask(world, [(jobs["make_table"], TABLE)])
        kept = wait_settled(world, ids[TABLE])
    assert kept.review_uploaded_at is None
    assert kept.review_refused.startswith("this site keeps files under review")
    assert not (tmp_path / "releases" / "review").exists()
    read = world.client("checker1").get(copy_url(world, ids[TABLE]))
    assert read.status_code == 409 and "keeps files under review" in read.json()["detail"]
    vote = {"decision": "approve", "comment": "the counts are rounded"}
    reviews = f"releases/{world.release_id}/files/{ids[TABLE]}/reviews"
    voted = world.client("checker1").post(reviews, json=vote)
    assert voted.status_code in (200, 201), voted.text
