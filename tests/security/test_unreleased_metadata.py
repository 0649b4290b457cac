"""Unreleased outputs' names, sizes, hashes, rows, columns and findings: only for those who
may see unreleased outputs; highly sensitive ones never leave a "status" backend.

Against the real job server under uvicorn, with the runner's side spoken over HTTP: a
job's outputs and provenance, its page, and a released file's chain of jobs, asked for
by every kind of caller who may see the project.
"""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from jupyter_ext.jobserver import orm

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer
from ..jobserver.mocking import MockJobServerApp

SECRET_NAME = "output/patients_with_rare_condition_in_town_x.csv"
SECRET_SHA = hashlib.sha256(b"the rows themselves").hexdigest()
TABLE_SHA = hashlib.sha256(b"a,b\n1,2\n").hexdigest()
INPUT_SHA = hashlib.sha256(b"an earlier job's output").hexdigest()
OUTPUTS = [
    {
        "path": SECRET_NAME,
        "size": 123_456,
        "sha256": SECRET_SHA,
        "privacy_level": "highly_sensitive",
    },
    {
        "path": "output/table.csv",
        "size": 8,
        "sha256": TABLE_SHA,
        "privacy_level": "moderately_sensitive",
        "check": {
            "path": "output/table.csv",
            "rows": 1,
            "columns": ["region_of_the_rare_condition", "b"],
            "findings": [{"rule": "small_numbers", "verdict": "flag", "message": "a count of 1"}],
        },
    },
]
SEES = ["dev", "checker"]  # a project developer, an output checker
DOES_NOT = ["collab", "coord", "investigator", "tech"]  # may see the project, not its outputs


@pytest.fixture(params=["full", "status"])
def world(request, tmp_path):
    """The usual world, its backend's log policy `full` or `status`, and a finished job."""
    settings = MockJobServerApp(release_dir=str(tmp_path / "releases"))
    server = JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path, settings)
    built = build_world(server, tmp_path)
    with built.factory() as session:
        session.scalar(select(orm.Backend)).log_policy = request.param
        session.commit()
    built.policy = request.param
    built.user("checker", ["output_checker"])
    built.user("investigator", ["data_investigator"])
    built.user("tech", ["technical_reviewer"])
    built.job = finished_job(built)
    yield built
    server.close()


def finished_job(world) -> str:
    """A job that wrote a highly sensitive file and a table, with its provenance."""
    runner = world.client(token=world.runner_token)
    body = {"workspace": "sample", "backend": "tpp", "actions": ["generate_dataset"]}
    world.client("dev").post("job-requests", json=body).raise_for_status()
    (lease,) = runner.post("runner/poll", json={"wait": 0}).json()
    job = lease["identifier"]
    provenance = {
        "repo": lease["repo"],
        "commit": lease["sha"],
        "action": lease["action"],
        "run": lease["run"],
        "executor": "local",
        "outputs": [{"path": o["path"], "sha256": o["sha256"]} for o in OUTPUTS],
        "inputs": [{"path": "output/earlier.csv", "sha256": INPUT_SHA, "job": job}],
    }
    report = {"outputs": OUTPUTS, "provenance": provenance}
    assert runner.post(f"runner/jobs/{job}/outputs", json=report).status_code == 204
    done = {"state": "succeeded", "exit_code": 0}
    assert runner.post(f"runner/jobs/{job}/status", json=done).status_code == 200
    return job


def page(world, who: str, path: str):
    return world.client(who).get(world.base_url.removesuffix("api/v1/") + path.lstrip("/"))


def leaks(text: str) -> list[str]:
    """Which of the unreleased outputs' details a text holds."""
    details = [
        SECRET_NAME,
        SECRET_SHA,
        "123456",
        "123,456",
        "output/table.csv",
        TABLE_SHA,
        "region_of_the_rare_condition",
        "a count of 1",
    ]
    return [d for d in details if d in text]


@pytest.mark.parametrize("who", DOES_NOT)
def test_who_may_only_see_the_project_sees_no_unreleased_output(world, who):
    for path in (f"jobs/{world.job}/outputs", f"jobs/{world.job}/provenance"):
        refused = world.client(who).get(path)
        assert refused.status_code == 403, (who, path, refused.text)
        assert "unreleased outputs" in refused.json()["detail"] and not leaks(refused.text)
    assert world.client(who).get(f"jobs/{world.job}").status_code == 200  # the job itself
    shown = page(world, who, f"/jobs/{world.job}")
    assert shown.status_code == 200 and 'id="outputs-hidden"' in shown.text
    assert leaks(shown.text) == []


@pytest.mark.parametrize("who", SEES)
def test_who_may_see_unreleased_outputs_sees_them_but_never_highly_sensitive_on_status(world, who):
    outputs = world.client(who).get(f"jobs/{world.job}/outputs")
    assert outputs.status_code == 200
    table = next(o for o in outputs.json() if o["path"] == "output/table.csv")
    assert table["check"]["columns"] == ["region_of_the_rare_condition", "b"]
    provenance = world.client(who).get(f"jobs/{world.job}/provenance")
    assert provenance.status_code == 200
    assert "output/table.csv" in [o["path"] for o in provenance.json()["outputs"]]
    shown = page(world, who, f"/jobs/{world.job}")
    assert "output/table.csv" in shown.text
    secret = [SECRET_NAME, SECRET_SHA, "123456", "123,456"]
    if world.policy == "status":  # never shown, whoever asks: not even kept
        for text in (outputs.text, provenance.text, shown.text):
            assert [d for d in secret if d in text] == []
        with world.factory() as session:
            assert (
                session.scalar(select(orm.JobOutput).where(orm.JobOutput.path == SECRET_NAME))
                is None
            )
    else:
        assert SECRET_NAME in [o["path"] for o in outputs.json()]
        assert SECRET_SHA in provenance.text


def test_a_released_files_chain_names_only_released_files_to_collaborators(world):
    """A collaborator may read a released file's chain of jobs: it names the released file,
    not the job's other outputs nor its inputs."""
    for name in ("checker2", "publisher"):
        world.user(name, ["output_publisher" if name == "publisher" else "output_checker"])
    group = {
        "context": "c",
        "disclosure_control": "d",
        "files": [{"job": world.job, "path": "output/table.csv"}],
    }
    body = {"workspace": "sample", "backend": "tpp", "groups": {"g": group}}
    release = world.client("dev").post("releases", json=body).json()
    file_id = release["files"][0]["id"]
    for checker in ("checker", "checker2"):
        vote = f"releases/{release['id']}/files/{file_id}/reviews"
        assert world.client(checker).post(vote, json={"decision": "approve"}).status_code == 201
    assert world.client("publisher").post(f"releases/{release['id']}/publish").status_code == 200
    url = world.base_url.removesuffix("api/v1/") + f"api/v2/releases/file/{file_id}/provenance"
    chain = world.client("collab").get(url)
    assert chain.status_code == 200, chain.text
    (step,) = chain.json()["steps"]
    assert step["provenance"]["outputs"] == [
        {"path": "output/table.csv", "sha256": TABLE_SHA, "job": None}
    ]
    assert step["provenance"]["inputs"] == []
    assert SECRET_NAME not in chain.text and INPUT_SHA not in chain.text
    full = world.client("dev").get(url).json()["steps"][0]["provenance"]
    # the project's developer sees what it read, but on a "status" backend only files the
    # site said were not highly sensitive are named (this one the site never described)
    assert (INPUT_SHA in str(full["inputs"])) is (world.policy == "full")
