"""A released file's upload, cut short and resumed: the server keeps what came and goes on.

The bytes of an interrupted PUT wait in a partial file; the GET says how many;
a PUT with `Content-Range: bytes START-END/SIZE` goes on from there. Only the
whole file is hashed: a match is stored by its hash, anything else is refused,
audited, and nothing of it is kept.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from jupyter_ext.jobserver import orm
from jupyter_ext.jobserver.release_store import stored_path

from .conftest import build_world
from .harness import JobServer, leased_job
from .mocking import MockJobServerApp

MIB = 1 << 20
CONTENT = os.urandom(3 * MIB + 12345)
SHA = hashlib.sha256(CONTENT).hexdigest()


@pytest.fixture
def world(db_url, tmp_path):
    """The usual world, its released files kept under tmp_path."""
    server = JobServer(db_url, tmp_path, MockJobServerApp(release_dir=str(tmp_path / "releases")))
    yield build_world(server, tmp_path)
    server.close()


def published_file(world, content: bytes = CONTENT, path: str = "output/big.csv") -> str:
    """A job's moderately sensitive output, reviewed twice and published: its file id."""
    dev, runner = world.client("dev"), world.client(token=world.runner_token)
    job = leased_job(world)
    output = {
        "path": path,
        "size": len(content),
        "sha256": hashlib.sha256(content).hexdigest(),
        "privacy_level": "moderately_sensitive",
    }
    runner.post(f"runner/jobs/{job}/outputs", json={"outputs": [output]})
    runner.post(f"runner/jobs/{job}/status", json={"state": "succeeded", "exit_code": 0})
    group = {"context": "c", "disclosure_control": "d", "files": [{"job": job, "path": path}]}
    release = dev.post(
        "releases", json={"workspace": "sample", "backend": "tpp", "groups": {"g": group}}
    ).json()
    file_id = release["files"][0]["id"]
    for name in ("checker1", "checker2"):
        world.user(name, ["output_checker"])
        vote = f"releases/{release['id']}/files/{file_id}/reviews"
        assert world.client(name).post(vote, json={"decision": "approve"}).status_code == 201
    world.user("publisher", ["output_publisher"])
    assert world.client("publisher").post(f"releases/{release['id']}/publish").status_code == 200
    return file_id


def state(world, file_id: str) -> dict:
    return world.client(token=world.runner_token).get(f"runner/release-files/{file_id}").json()


def cut_short(world, file_id: str, sent: int) -> int:
    """A PUT whose connection breaks after `sent` bytes; the bytes the server then holds."""

    def body():
        for at in range(0, sent, MIB):
            yield CONTENT[at : min(at + MIB, sent)]
        time.sleep(0.5)  # let the server take them in
        raise ConnectionError("the line to the site went down")

    runner = world.client(token=world.runner_token)
    with pytest.raises((ConnectionError, httpx.HTTPError)):
        runner.put(f"runner/release-files/{file_id}", content=body())
    deadline = time.monotonic() + 10
    while (held := state(world, file_id)["received"]) < sent and time.monotonic() < deadline:
        time.sleep(0.05)
    return held


def put_rest(world, file_id: str, start: int, rest: bytes) -> httpx.Response:
    """Go on from byte `start`, waiting while the cut PUT is still being wound up."""
    runner = world.client(token=world.runner_token)
    headers = {"Content-Range": f"bytes {start}-{len(CONTENT) - 1}/{len(CONTENT)}"}
    deadline = time.monotonic() + 10
    while True:
        response = runner.put(f"runner/release-files/{file_id}", content=rest, headers=headers)
        if "under way" not in response.text or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def v2_url(world, file_id: str) -> str:
    return f"{world.base_url.removesuffix('api/v1/')}api/v2/releases/file/{file_id}"


def partial(world, file_id: str) -> Path:
    return Path(world.app.state.settings.release_dir) / "partial" / file_id


def audit_actions(world) -> list[str]:
    audit = world.client("admin").get("audit", params={"target_type": "release_file"}).json()
    return [e["action"] for e in audit["items"]]


def test_an_upload_cut_short_goes_on_from_the_bytes_held(world):
    file_id = published_file(world)
    assert state(world, file_id) == {
        "received": 0,
        "size": len(CONTENT),
        "sha256": SHA,
        "uploaded": False,
    }
    held = cut_short(world, file_id, 2 * MIB)
    assert held == 2 * MIB and partial(world, file_id).stat().st_size == held
    assert world.client("dev").get(v2_url(world, file_id)).status_code == 409  # not yet

    done = put_rest(world, file_id, held, CONTENT[held:])
    assert done.status_code == 204, done.text
    assert state(world, file_id) == {
        "received": len(CONTENT),
        "size": len(CONTENT),
        "sha256": SHA,
        "uploaded": True,
    }
    served = world.client("dev").get(v2_url(world, file_id))
    assert served.status_code == 200 and served.content == CONTENT
    assert stored_path(world.app.state.settings.release_dir, SHA).read_bytes() == CONTENT
    assert not partial(world, file_id).exists()
    assert "release_file.upload" in audit_actions(world)


def test_a_wrong_offset_is_told_where_to_go_on(world):
    file_id = published_file(world)
    held = cut_short(world, file_id, MIB)
    for start in (0, held + 1):
        wrong = put_rest(world, file_id, start, CONTENT[start:])
        assert wrong.status_code == 409
        assert f"go on from byte {held}" in wrong.json()["detail"]
        assert wrong.json()["errors"] == [{"field": "Content-Range", "expected": held}]
    assert state(world, file_id)["received"] == held  # nothing was lost, nothing added
    malformed = world.client(token=world.runner_token).put(
        f"runner/release-files/{file_id}", content=b"x", headers={"Content-Range": "bytes 5-9/10"}
    )
    assert malformed.status_code == 422 and "Content-Range" in malformed.json()["detail"]
    other = world.client(token=world.runner_token).get(f"runner/release-files/{'0' * 26}")
    assert other.status_code == 404


def test_a_complete_upload_that_does_not_match_is_refused_and_leaves_nothing(world):
    file_id = published_file(world)
    held = cut_short(world, file_id, MIB)
    changed = bytes(b ^ 1 for b in CONTENT[held : held + 10]) + CONTENT[held + 10 :]
    refused = put_rest(world, file_id, held, changed)
    assert refused.status_code == 422 and "changed on the site" in refused.json()["detail"]
    assert not partial(world, file_id).exists() and state(world, file_id)["received"] == 0
    runner = world.client(token=world.runner_token)
    too_long = runner.put(f"runner/release-files/{file_id}", content=CONTENT + b"more")
    assert too_long.status_code == 422 and not partial(world, file_id).exists()
    truncated = runner.put(f"runner/release-files/{file_id}", content=CONTENT[:-1])
    assert truncated.status_code == 422 and not partial(world, file_id).exists()
    release_dir = Path(world.app.state.settings.release_dir)
    assert [p for p in release_dir.rglob("*") if p.is_file()] == []
    assert world.client("dev").get(v2_url(world, file_id)).status_code == 409
    assert audit_actions(world).count("release_file.upload.refused") == 3
    # the right bytes, in one PUT, are still taken
    assert runner.put(f"runner/release-files/{file_id}", content=CONTENT).status_code == 204
    assert world.client("dev").get(v2_url(world, file_id)).content == CONTENT
    replayed = runner.put(f"runner/release-files/{file_id}", content=b"other bytes")
    assert replayed.status_code == 409 and "never change" in replayed.json()["detail"]
    assert world.client("dev").get(v2_url(world, file_id)).content == CONTENT


def lease_rows(world) -> list:
    with world.factory() as session:
        return list(session.scalars(select(orm.UploadLease)))


def test_two_job_server_processes_take_one_upload_of_a_file_at_once(world, db_url, tmp_path):
    """The one-upload-per-file guard lives in the database: a second job server process on
    the same database (and release folder) refuses a second upload while the first goes on,
    and the first still completes."""
    from .test_jobserver_cli import jobserver

    file_id = published_file(world)
    release_dir = world.app.state.settings.release_dir
    first_sent, go_on = threading.Event(), threading.Event()

    def slowly():
        yield CONTENT[:MIB]
        first_sent.set()
        go_on.wait(30)
        yield CONTENT[MIB:]

    runner = world.client(token=world.runner_token)
    answers: dict[str, httpx.Response] = {}
    put = f"runner/release-files/{file_id}"
    first = threading.Thread(target=lambda: answers.update(first=runner.put(put, content=slowly())))
    first.start()
    try:
        assert first_sent.wait(30)
        deadline = time.monotonic() + 10
        while not lease_rows(world) and time.monotonic() < deadline:
            time.sleep(0.02)
        options = f"--JobServerApp.release_dir={release_dir}"
        with (
            jobserver(tmp_path, db_url, options) as other,
            other.client(world.runner_token) as second,
        ):
            refused = second.put(put, content=CONTENT)
            assert refused.status_code == 409, refused.text
            assert "under way" in refused.json()["detail"]
            go_on.set()
            first.join(30)
            assert answers["first"].status_code == 204, answers["first"].text
            assert second.get(put).json()["uploaded"] is True  # the other sees it done
    finally:
        go_on.set()
        first.join(30)
    assert lease_rows(world) == []
    assert world.client("dev").get(v2_url(world, file_id)).content == CONTENT


def test_an_upload_whose_process_died_blocks_only_until_its_lease_expires(world):
    file_id = published_file(world)
    with world.factory() as session:  # as a process that died mid-upload leaves it
        expires = orm.utcnow() + dt.timedelta(hours=1)
        session.add(orm.UploadLease(file_id=file_id, holder="died", expires_at=expires))
        session.commit()
    runner = world.client(token=world.runner_token)
    held = runner.put(f"runner/release-files/{file_id}", content=CONTENT)
    assert held.status_code == 409 and "under way" in held.json()["detail"]
    with world.factory() as session:
        session.get(orm.UploadLease, file_id).expires_at = orm.utcnow() - dt.timedelta(seconds=1)
        session.commit()
    taken = runner.put(f"runner/release-files/{file_id}", content=CONTENT)
    assert taken.status_code == 204, taken.text
    assert lease_rows(world) == []


def test_an_upload_that_lost_its_lease_stops_writing(db_url, tmp_path):
    """Another upload took the file over (this one's process looked dead): this one writes
    nothing more, stores nothing, and says so."""
    settings = MockJobServerApp(release_dir=str(tmp_path / "releases"), upload_lease_seconds=0.6)
    world = build_world(JobServer(db_url, tmp_path, settings), tmp_path)
    try:
        file_id = published_file(world)
        first_sent, go_on = threading.Event(), threading.Event()

        def slowly():
            yield CONTENT[:MIB]
            first_sent.set()
            go_on.wait(30)
            yield CONTENT[MIB:]

        runner = world.client(token=world.runner_token)
        answers: dict[str, httpx.Response] = {}
        put = f"runner/release-files/{file_id}"
        upload = threading.Thread(
            target=lambda: answers.update(put=runner.put(put, content=slowly()))
        )
        upload.start()
        assert first_sent.wait(30)
        deadline = time.monotonic() + 10
        while not lease_rows(world) and time.monotonic() < deadline:
            time.sleep(0.02)
        with world.factory() as session:  # as another upload does once the lease expired
            session.get(orm.UploadLease, file_id).holder = "another"
            session.commit()
        time.sleep(0.5)  # this upload's next renewal finds the lease gone
        go_on.set()
        upload.join(30)
        assert answers["put"].status_code == 409, answers["put"].text
        assert "another took its place" in answers["put"].json()["detail"]
        assert partial(world, file_id).stat().st_size <= MIB  # nothing after the takeover
        assert state(world, file_id)["uploaded"] is False
        assert [row.holder for row in lease_rows(world)] == ["another"]  # left to its holder
    finally:
        world.close()
