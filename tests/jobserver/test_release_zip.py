"""A whole release as one zip: streamed as it is written, only its released files, audited."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
import zipfile

import pytest

from jupyter_ext.jobserver.release_store import ZipSink, zip_stream

from .conftest import build_world
from .harness import JobServer, leased_job
from .mocking import MockJobServerApp

KIB = 1 << 10
MIB = 1 << 20
FILES = {
    "output/table.csv": b"region,count\nnorth,35\n",
    "output/plots/figure.svg": b'<svg xmlns="http://www.w3.org/2000/svg"></svg>',
    "output/big.pdf": os.urandom(3 * MIB + 17),
    "output/empty.txt": b"",
}
REJECTED = {"output/small_numbers.csv": b"region,count\nwest,2\n"}


@pytest.fixture
def world(db_url, tmp_path):
    server = JobServer(db_url, tmp_path, MockJobServerApp(release_dir=str(tmp_path / "releases")))
    yield build_world(server, tmp_path)
    server.close()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def released(world, files: dict[str, bytes], rejected: dict[str, bytes] = {}) -> dict:  # noqa: B006
    """One job's outputs in one release: `files` approved twice, published and uploaded,
    `rejected` turned down by both checkers. The release as the API shows it."""
    dev, runner = world.client("dev"), world.client(token=world.runner_token)
    job = leased_job(world)
    everything = {**files, **rejected}
    outputs = [
        {
            "path": path,
            "size": len(data),
            "sha256": sha(data),
            "privacy_level": "moderately_sensitive",
        }
        for path, data in everything.items()
    ]
    assert runner.post(f"runner/jobs/{job}/outputs", json={"outputs": outputs}).status_code == 204
    runner.post(f"runner/jobs/{job}/status", json={"state": "succeeded", "exit_code": 0})
    group = {
        "context": "c",
        "disclosure_control": "d",
        "files": [{"job": job, "path": path} for path in everything],
    }
    release = dev.post(
        "releases", json={"workspace": "sample", "backend": "tpp", "groups": {"g": group}}
    ).json()
    for name in ("checker1", "checker2"):
        world.user(name, ["output_checker"])
        for f in release["files"]:
            decision = "reject" if f["path"] in rejected else "approve"
            vote = f"releases/{release['id']}/files/{f['id']}/reviews"
            response = world.client(name).post(vote, json={"decision": decision})
            assert response.status_code == 201
    world.user("publisher", ["output_publisher"])
    assert world.client("publisher").post(f"releases/{release['id']}/publish").status_code == 200
    world.release_id = release["id"]
    assert zip_get(world, "collab").status_code == 409  # published, but nothing sent yet
    for f in release["files"]:
        if f["path"] in files:
            put = runner.put(f"runner/release-files/{f['id']}", content=files[f["path"]])
            assert put.status_code == 204, put.text
    return release


def zip_get(world, username: str | None, release_id: str | None = None):
    root = world.base_url.removesuffix("api/v1/")
    url = f"{root}api/v2/releases/{release_id or world.release_id}/zip"
    return world.client(username).get(url)


def test_the_zip_holds_exactly_the_released_files_byte_for_byte(world):
    release = released(world, FILES, REJECTED)
    response = zip_get(world, "collab")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="release-{release["id"]}.zip"'
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "content-length" not in response.headers  # streamed, chunk by chunk
    with zipfile.ZipFile(io.BytesIO(response.content)) as zf:
        assert zf.testzip() is None  # every entry's CRC is right
        assert sorted(zf.namelist()) == sorted(FILES)
        got = {name: sha(zf.read(name)) for name in zf.namelist()}
        assert {i.compress_type for i in zf.infolist()} == {zipfile.ZIP_STORED}
    assert got == {path: sha(data) for path, data in FILES.items()}

    audit = world.client("admin").get("audit", params={"target_type": "release_file"}).json()
    downloads = [e for e in audit["items"] if e["action"] == "release_file.download"]
    assert len(downloads) == len(FILES)  # one row per file in the zip, none for the rejected
    assert {e["actor"] for e in downloads} == {"collab"}
    assert {e["after"]["zip"] for e in downloads} == {release["id"]}
    ids = {f["id"] for f in release["files"] if f["path"] in FILES}
    assert {e["target_id"] for e in downloads} == ids


def test_only_members_with_release_view_get_the_zip(world):
    released(world, {"output/table.csv": FILES["output/table.csv"]})
    assert zip_get(world, "outsider").status_code == 403
    assert zip_get(world, None).status_code == 401
    assert zip_get(world, "collab", release_id="01NOSUCHRELEASE").status_code == 404
    assert zip_get(world, "dev").status_code == 200
    audit = world.client("admin").get("audit", params={"target_type": "release_file"}).json()
    actors = {e["actor"] for e in audit["items"] if e["action"] == "release_file.download"}
    assert actors == {"dev"}  # the refused callers were not audited as downloading


def test_a_release_not_published_has_no_zip(world):
    dev = world.client("dev")
    runner = world.client(token=world.runner_token)
    dev.post(
        "job-requests",
        json={"workspace": "sample", "backend": "tpp", "actions": ["generate_dataset"]},
    )
    (lease,) = runner.post("runner/poll", json={"wait": 0}).json()
    data = FILES["output/table.csv"]
    output = {
        "path": "output/table.csv",
        "size": len(data),
        "sha256": sha(data),
        "privacy_level": "moderately_sensitive",
    }
    runner.post(f"runner/jobs/{lease['identifier']}/outputs", json={"outputs": [output]})
    runner.post(
        f"runner/jobs/{lease['identifier']}/status", json={"state": "succeeded", "exit_code": 0}
    )
    group = {
        "context": "c",
        "disclosure_control": "d",
        "files": [{"job": lease["identifier"], "path": "output/table.csv"}],
    }
    release = dev.post(
        "releases", json={"workspace": "sample", "backend": "tpp", "groups": {"g": group}}
    ).json()
    response = zip_get(world, "dev", release_id=release["id"])
    assert response.status_code == 409 and "not released" in response.json()["detail"]


def test_the_stream_holds_no_more_than_a_chunk_however_big_the_release(tmp_path):
    """50 files of 2 MB: the writer never holds more than a chunk and the zip headers."""
    chunk = 256 * KIB
    entries = []
    for n in range(50):
        path = tmp_path / f"f{n:02d}.csv"
        path.write_bytes(os.urandom(2 * MIB))
        entries.append((f"output/f{n:02d}.csv", path, (2026, 1, 1, 0, 0, 0)))
    total = 50 * 2 * MIB
    sink = ZipSink()
    digest = hashlib.sha256()
    sizes = []
    tracemalloc.start()
    try:
        for piece in zip_stream(entries, chunk=chunk, sink=sink):
            sizes.append(len(piece))
            digest.update(piece)
            del piece
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sum(sizes) > total and len(sizes) >= total // chunk
    assert max(sizes) <= chunk + 2 * KIB  # a chunk, and at most a header or two with it
    assert sink.peak <= chunk + 2 * KIB
    assert peak < 6 * chunk  # the block read, the bytes drained, the joined piece: a few chunks

    # and it is a good zip of those files
    data = b"".join(zip_stream(entries, chunk=chunk))
    assert hashlib.sha256(data).hexdigest() == digest.hexdigest()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert zf.read("output/f07.csv") == (tmp_path / "f07.csv").read_bytes()


def test_a_path_two_jobs_share_is_put_under_each_job_and_dot_dots_are_dropped():
    from types import SimpleNamespace as NS

    from jupyter_ext.jobserver.release_store import entry_names

    files = [
        NS(id="a", path="output/t.csv", job=NS(identifier="job1")),
        NS(id="b", path="output/t.csv", job=NS(identifier="job2")),
        NS(id="c", path="/../etc/./x.csv", job=NS(identifier="job1")),
    ]
    assert entry_names(files) == {
        "a": "job1/output/t.csv",
        "b": "job2/output/t.csv",
        "c": "etc/x.csv",
    }
