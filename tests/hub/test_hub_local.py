"""The product as people see it: the real hub, proxy and job server, GitHub faked, local servers.

Sign in with GitHub, see the workspaces on the home page, start a workspace's
server with its repository checked out at its branch, run an action through the
job server and a runner, see its log and outputs, stop the server. Someone who
is not a member of the project can neither start its workspace nor see its jobs.
"""

from __future__ import annotations

import subprocess

import pytest

from .harness import HubWorld


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = HubWorld(tmp_path_factory.mktemp("hub"))
    yield world
    world.close()


def test_a_member_signs_in_starts_the_workspace_and_runs_an_action(world, tmp_path):
    alice = world.browser("alice")
    home = alice.sign_in()
    assert home.url.path == "/hub/home" and 'data-server-name="study"' in home.text
    assert "study-org/study" in home.text and "<code>main</code>" in home.text
    lab = alice.start("study")
    assert lab.status_code == 200 and lab.url.path == "/user/alice/study/lab"
    checkout = world.folder / "workspaces" / "alice" / "study"

    def git(*a):
        return subprocess.run(
            ["git", "-C", str(checkout), *a],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    assert git("rev-parse", "--abbrev-ref", "HEAD") == "main"
    assert git("remote", "get-url", "origin") == world.github.html_url("study-org/study")
    assert world.gh_tokens["alice"] not in (checkout / ".git" / "config").read_text()

    api, job = world.run_action(alice, tmp_path / "site")  # a hub token, through the proxy
    assert job["state"] == "succeeded", job
    assert api.get(f"jobs/{job['identifier']}/logs").json()
    outputs = api.get(f"jobs/{job['identifier']}/outputs").json()
    assert [(o["path"], o["privacy_level"]) for o in outputs] == [
        ("output/dataset.csv", "highly_sensitive")
    ]
    home = alice.http.get("hub/home")
    assert 'class="badge jx-state jx-state-succeeded job-state">succeeded' in home.text
    assert "--jx-state-requested: #6f42c1" in home.text  # the palette, read from the pages
    alice.stop("study")
    assert all(r.secret_in_url is False for r in world.github.requests)


def test_someone_outside_the_project_can_neither_start_it_nor_see_its_jobs(world):
    world.outsider_refused()


def test_someone_outside_the_organisation_cannot_sign_in(world):
    mallory = world.browser("mallory")
    assert mallory.sign_in().status_code == 403
