"""`POST jupyter-ext/check`: the backend's pre-release rules, in a real Jupyter server against
the real job server (whose backend's rules its runner reported)."""

from __future__ import annotations

import hashlib
import json

import pytest
from tornado.httpclient import HTTPClientError

from ..jobserver.harness import leased_job

RULES = {"small_number_threshold": 10, "small_numbers": "flag"}  # the site's, not the defaults
SMALL = b"region,count\nnorth,3\nsouth,40\n"


@pytest.fixture
def rules(world):
    """tpp's runner reports its rules, as it does with each heartbeat."""
    runner = world.client(token=world.runner_token)
    beat = {"version": "test", "executor": "local", "capacity": 1, "release_rules": RULES}
    runner.post("runner/heartbeat", json=beat).raise_for_status()


async def check(jp_fetch, **body):
    response = await jp_fetch("jupyter-ext", "check", method="POST", body=json.dumps(body))
    return json.loads(response.body)


async def refused(jp_fetch, **body) -> tuple[int, str]:
    with pytest.raises(HTTPClientError) as error:
        await check(jp_fetch, **body)
    return error.value.code, json.loads(error.value.response.body)["message"]


async def test_files_of_the_workspace_meet_the_backends_rules(jp_fetch, jp_root_dir, rules):
    (jp_root_dir / "output").mkdir()
    (jp_root_dir / "output" / "counts.csv").write_bytes(SMALL)
    (jp_root_dir / "output" / "people.csv").write_text("patient_id,age\nA17,40\n")
    (jp_root_dir / "notes.docx").write_text("x")
    paths = ["output/counts.csv", "output/people.csv", "notes.docx"]
    counts, people, notes = await check(jp_fetch, paths=paths)  # tpp: the only backend
    assert counts["path"] == "output/counts.csv"
    assert (counts["rows"], counts["columns"]) == (2, ["region", "count"])
    (small,) = counts["findings"]
    # the site's threshold and verdict, not the defaults (7, refuse); the cell, never its value
    assert (small["rule"], small["verdict"], small["cells"]) == (
        "small_number",
        "flag",
        [[1, "count"]],
    )
    assert "from 1 to 10" in small["message"] and "3" not in small["message"].split("(")[1]
    assert [(f["rule"], f["verdict"]) for f in people["findings"]] == [
        ("forbidden_column", "refuse")
    ]
    assert [(f["rule"], f["verdict"]) for f in notes["findings"]] == [("type", "refuse")]
    # named, the same backend; an unknown one is the job server's 404, passed on
    assert await check(jp_fetch, paths=paths[:1], backend="tpp") == [counts]
    code, message = await refused(jp_fetch, paths=paths[:1], backend="nope")
    assert code == 404 and "nope" in message


async def test_paths_that_leave_the_workspace_are_refused(jp_fetch, jp_root_dir, tmp_path):
    secret = tmp_path / "secret.csv"
    secret.write_bytes(SMALL)
    (jp_root_dir / "output").mkdir()
    (jp_root_dir / "output" / "link.csv").symlink_to(secret)
    (jp_root_dir / "output" / "inside.csv").symlink_to(jp_root_dir / "README.md")
    for path in ("../secret.csv", str(secret), "output/../../secret.csv"):
        code, message = await refused(jp_fetch, paths=[path])
        assert code == 400 and f"{path} is outside the workspace" in message
    code, message = await refused(jp_fetch, paths=["output/inside.csv", "output/link.csv"])
    assert code == 400 and "output/link.csv is a link to a file outside the workspace" in message
    assert str(tmp_path) not in message  # says which path, not where the server keeps things
    code, message = await refused(jp_fetch, paths=["output/missing.csv"])
    assert code == 404 and "no file output/missing.csv" in message
    for body in ({}, {"paths": "output/inside.csv"}, {"paths": []}, {"paths": [""]}):
        code, message = await refused(jp_fetch, **body)
        assert code == 400 and '"paths"' in message
    # a link that stays inside is the workspace's own file, judged as the file it names
    (inside,) = await check(jp_fetch, paths=["output/inside.csv"], backend="tpp")
    assert (inside["path"], inside["findings"]) == ("README.md", [])


async def test_a_jobs_outputs_are_judged_as_a_release_request_will_be(jp_fetch, world, rules):
    job = leased_job(world)
    found = {
        "path": "output/table.csv",
        "rows": 2,
        "columns": ["region", "count"],
        "findings": [
            {
                "rule": "small_number",
                "verdict": "flag",
                "message": "1 count from 1 to 10 (row 1 'count')",
                "cells": [[1, "count"]],
            }
        ],
    }
    outputs = [
        {
            "path": "output/table.csv",
            "size": len(SMALL),
            "privacy_level": "moderately_sensitive",
            "sha256": hashlib.sha256(SMALL).hexdigest(),
            "check": found,
        },
        {
            "path": "output/model.pkl",
            "size": 10,
            "privacy_level": "moderately_sensitive",
            "sha256": "2" * 64,
        },
        {
            "path": "output/dataset.csv",
            "size": 10,
            "privacy_level": "highly_sensitive",
            "sha256": "1" * 64,
        },
    ]
    runner = world.client(token=world.runner_token)
    runner.post(f"runner/jobs/{job}/outputs", json={"outputs": outputs}).raise_for_status()
    runner.post(f"runner/jobs/{job}/status", json={"state": "succeeded", "exit_code": 0})

    table, model = await check(jp_fetch, job=job, paths=["output/table.csv", "output/model.pkl"])
    # what the site found when the job ended (its bytes never leave it) ...
    assert (table["rows"], table["findings"]) == (2, found["findings"])
    # ... and what the name says under the backend's rules now
    assert [(f["rule"], f["verdict"]) for f in model["findings"]] == [("type", "refuse")]
    code, message = await refused(jp_fetch, job=job, paths=["output/dataset.csv"])
    assert code == 400 and "highly_sensitive" in message
    code, message = await refused(jp_fetch, job=job, paths=["output/other.csv"])
    assert code == 404 and f"{job} recorded no output output/other.csv" in message
    code, message = await refused(jp_fetch, job="nojob", paths=["output/table.csv"])
    assert code == 404 and "nojob" in message
