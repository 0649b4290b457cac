"""A GitHub token given for one job request is gone when its last job ends, by any path.

Tried against the real job server under uvicorn (the runner's side spoken over HTTP as a
runner does), and once with the real runner: success, failure, cancel (pending and
running), lease expiry found by the server's own sweeper, a job it needs failing. A
saved token is never copied onto a request: it is read when a job is leased.
"""

from __future__ import annotations

import datetime as dt
import time

import pytest

from jupyter_ext.jobserver import orm

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer
from ..jobserver.mocking import MockJobServerApp

GIVEN = "ghp_given_for_this_request_only_000000"
SAVED, NEWER = "ghp_saved_in_settings_1111111111111111", "ghp_saved_again_22222222222222222222"


def make_world(tmp_path, **settings):
    server = JobServer(
        f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path, MockJobServerApp(**settings)
    )
    return build_world(server, tmp_path)


@pytest.fixture
def world(tmp_path):
    made = make_world(tmp_path)
    yield made
    made.close()


def submit(world, actions: list[str], token: str | None = GIVEN) -> str:
    body = {"workspace": "sample", "backend": "tpp", "actions": actions, "github_token": token}
    created = world.client("dev").post("job-requests", json=body)
    assert created.status_code == 201, created.text
    return created.json()["id"]


def kept(world, request_id: str) -> bytes | None:
    """The request's stored (encrypted) token, as the database holds it."""
    with world.factory() as session:
        return session.get(orm.JobRequest, request_id).github_token


def poll(world) -> list[dict]:
    return world.client(token=world.runner_token).post("runner/poll", json={"wait": 0}).json()


def report(world, identifier: str, state: str, exit_code: int | None = None) -> None:
    body = {"state": state, "exit_code": exit_code}
    answer = world.client(token=world.runner_token).post(
        f"runner/jobs/{identifier}/status", json=body
    )
    assert answer.status_code == 200, answer.text


def test_a_saved_token_is_read_when_the_job_is_leased_never_copied(world):
    dev = world.client("dev")
    assert dev.put("me/github-token", json={"token": SAVED}).status_code == 204
    first = submit(world, ["generate_dataset"], token=None)
    assert kept(world, first) is None  # not copied onto the request
    assert dev.put("me/github-token", json={"token": NEWER}).status_code == 204
    (lease,) = poll(world)
    assert lease["github_token"] == NEWER  # the one saved when the job starts
    report(world, lease["identifier"], "succeeded", 0)
    submit(world, ["derive_measures"], token=None)
    assert dev.delete("me/github-token").status_code == 204
    (lease,) = poll(world)
    assert lease["github_token"] is None  # deleted from the settings: gone for every job


def test_a_given_token_goes_with_each_job_and_is_deleted_after_the_last_succeeds(world):
    world.client("dev").put("me/github-token", json={"token": SAVED})
    request = submit(world, ["make_table"])  # three jobs, one after another
    assert kept(world, request) is not None and GIVEN.encode() not in kept(world, request)
    for _ in range(3):
        (lease,) = poll(world)
        assert lease["github_token"] == GIVEN  # the request's own, not the saved one
        assert kept(world, request) is not None  # jobs remain: still needed
        report(world, lease["identifier"], "succeeded", 0)
    assert kept(world, request) is None


def test_a_given_token_is_deleted_when_its_job_fails(world):
    request = submit(world, ["generate_dataset"])
    (lease,) = poll(world)
    report(world, lease["identifier"], "failed", 3)
    assert kept(world, request) is None


def test_a_given_token_is_deleted_when_a_job_it_needs_failed(world):
    request = submit(world, ["derive_measures"])  # generate_dataset, then derive_measures
    (lease,) = poll(world)
    report(world, lease["identifier"], "failed", 1)
    assert kept(world, request) is not None  # derive_measures has not ended yet
    assert poll(world) == []  # it fails now, since what it needs failed
    jobs = world.client("dev").get(f"job-requests/{request}").json()["jobs"]
    assert [j["state"] for j in jobs] == ["failed", "failed"]
    assert kept(world, request) is None


def test_a_given_token_is_deleted_when_a_dataset_is_refused_at_lease(world, tmp_path):
    """Approved when asked, revoked while the job waited: it never starts, and its token goes."""
    from ..jobserver.test_datasets import body, commit_datasets_yaml, register

    world.user("governor", ["governance_reviewer"])
    register(world, body())
    commit_datasets_yaml(
        world, tmp_path, "version: 1\nactions:\n  generate_dataset: [primary-care]\n"
    )
    ask = {"project": "sample-study", "backend": "tpp", "dataset": "primary-care", "purpose": "p"}
    access = world.client("dev").post("dataset-access", json=ask).json()
    governor = world.client("governor")
    assert governor.post(f"dataset-access/{access['id']}/approve", json={}).status_code == 200
    request = submit(world, ["generate_dataset"])
    assert governor.post(f"dataset-access/{access['id']}/revoke", json={}).status_code == 200
    assert poll(world) == []
    assert kept(world, request) is None


def test_a_given_token_is_deleted_when_pending_jobs_are_cancelled(world):
    request = submit(world, ["derive_measures"])
    assert world.client("dev").post(f"job-requests/{request}/cancel").status_code == 200
    assert kept(world, request) is None
    assert poll(world) == []


def test_a_given_token_is_deleted_when_a_running_job_ends_cancelled(world):
    request = submit(world, ["generate_dataset"])
    (lease,) = poll(world)
    assert world.client("dev").post(f"jobs/{lease['identifier']}/cancel").status_code == 200
    assert kept(world, request) is not None  # asked to stop; its runner has not said so yet
    report(world, lease["identifier"], "cancelled")
    assert kept(world, request) is None


def wait_until(check, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "it never happened"
        time.sleep(0.05)


@pytest.mark.parametrize("requeue", [False, True], ids=["fail", "requeue"])
def test_a_given_token_is_deleted_when_the_sweeper_fails_an_expired_lease(tmp_path, requeue):
    """The server's own sweeper finds the lease expired: failed, the token goes with it;
    queued again, the token stays for the job's next run."""
    lease = dt.timedelta(seconds=0.5)
    world = make_world(
        tmp_path,
        lease_seconds=lease.total_seconds(),
        sweep_every=0.1,
        requeue_expired_leases=requeue,
    )
    try:
        request = submit(world, ["generate_dataset"])
        (leased,) = poll(world)  # and then the runner says nothing more
        job = f"jobs/{leased['identifier']}"
        expected = "pending" if requeue else "failed"
        wait_until(lambda: world.client("dev").get(job).json()["state"] == expected)
        if requeue:
            assert kept(world, request) is not None
            (again,) = poll(world)
            assert again["github_token"] == GIVEN
        else:
            assert kept(world, request) is None
    finally:
        world.close()


def test_the_real_runner_runs_with_a_given_token_and_nothing_keeps_it(tmp_path):
    """The whole sample project through the real runner (local executor): the request's
    token is deleted when it finishes, and no file of the site holds it."""
    from ..runner.test_local_runner import RunnerThread, wait_for

    world = make_world(tmp_path)
    try:
        with RunnerThread(world, tmp_path / "site"):
            request = submit(world, ["make_table"])
            assert wait_for(world, request)["state"] == "succeeded"
        assert kept(world, request) is None
        files = [p for p in (tmp_path / "site").rglob("*") if p.is_file()]
        assert files and not [p for p in files if GIVEN.encode() in p.read_bytes()]
    finally:
        world.close()
