"""Resources per action: asked in resources.yaml, checked against what the backend's runner
reported before anything is written, and carried on the job and its lease."""

from __future__ import annotations

from .harness import git

SUBMIT = {"workspace": "sample", "backend": "tpp", "actions": ["generate_dataset"]}
LIMITS = {
    "default": {"cpus": 1, "memory_mb": 1024, "time_limit": 3600},
    "maximum": {"cpus": 4, "memory_mb": 8192, "time_limit": 7200},
}


def commit_resources_yaml(tmp_path, text: str) -> None:
    repo = tmp_path / "repos" / "sample"
    (repo / "resources.yaml").write_text(text)
    git(repo, "add", "resources.yaml")
    git(repo, "commit", "-q", "-m", "resources")


def report_limits(world, limits=LIMITS):
    heartbeat = {"version": "1.0", "executor": "docker", "capacity": 2, "resource_limits": limits}
    sent = world.client(token=world.runner_token).post("runner/heartbeat", json=heartbeat)
    assert sent.status_code == 200, sent.text


def test_an_action_within_the_maximums_runs_with_what_it_asked(world, tmp_path):
    dev, runner = world.client("dev"), world.client(token=world.runner_token)
    commit_resources_yaml(
        tmp_path, "version: 1\nactions:\n  generate_dataset:\n    cpus: 2\n    memory: 2G\n"
    )
    unreported = dev.post("job-requests", json=SUBMIT)
    assert unreported.status_code == 422
    assert "has not yet said what it allows" in unreported.json()["detail"]

    report_limits(world)
    assert dev.get("backends/tpp").json()["resource_limits"]["maximum"]["cpus"] == 4
    created = dev.post("job-requests", json=SUBMIT)
    assert created.status_code == 201, created.text
    assert created.json()["jobs"][0]["resources"] == {
        "cpus": 2.0,
        "memory_mb": 2048,
        "time_limit": None,
    }
    (lease,) = runner.post("runner/poll", json={"wait": 0}).json()
    assert lease["resources"] == {"cpus": 2.0, "memory_mb": 2048, "time_limit": None}
    job_page = world.client("dev").get(
        world.base_url.removesuffix("api/v1/") + f"jobs/{lease['identifier']}"
    )
    assert '<dd class="col-sm-9" id="resources">2 CPUs, 2 GB <span' in job_page.text


def test_asking_for_more_than_the_backend_allows_is_refused_and_writes_nothing(world, tmp_path):
    dev = world.client("dev")
    report_limits(world)
    commit_resources_yaml(
        tmp_path,
        "version: 1\nactions:\n  generate_dataset:\n    cpus: 8\n    time_limit: 3h\n",
    )
    refused = dev.post("job-requests", json=SUBMIT)
    assert refused.status_code == 422
    assert refused.json()["detail"] == (
        "the action generate_dataset asks for more than the backend tpp allows: "
        "CPUs 8 (at most 4); time limit 3 h (at most 2 h). Ask for less in resources.yaml"
    )
    assert dev.get("job-requests").json()["items"] == []

    commit_resources_yaml(
        tmp_path, "version: 1\nactions:\n  generate_dataset:\n    memry: 2G\n    cpus: -1\n"
    )
    invalid = dev.post("job-requests", json=SUBMIT).json()
    assert invalid["detail"].startswith(
        "resources.yaml is not valid at this commit: resources.yaml:4:5: "
        "actions.generate_dataset.memry: unknown key 'memry': did you mean 'memory'?"
    )
    assert [e["message"] for e in invalid["errors"]] == [
        "unknown key 'memry': did you mean 'memory'?",
        "`cpus` is a number of CPUs from 0.5 to 1024, e.g. `2`",
    ]
    assert dev.get("job-requests").json()["items"] == []


def test_an_action_that_asks_for_nothing_needs_no_report(world, tmp_path):
    commit_resources_yaml(tmp_path, "version: 1\nactions:\n  generate_dataset: {}\n")
    created = world.client("dev").post("job-requests", json=SUBMIT)
    assert created.status_code == 201, created.text
    assert created.json()["jobs"][0]["resources"] is None


def test_what_an_action_asked_for_reads_as_the_panel_says_it():
    """labextension/src/usage.ts `resourcesText` says these alike (usage.spec.ts)."""
    from jupyter_ext.schema import JobResources

    assert (
        JobResources(cpus=2, memory_mb=8192, time_limit=5400).words() == "2 CPUs, 8 GB, 1 h 30 min"
    )
    assert JobResources(cpus=1, memory_mb=1536).words() == "1 CPU, 1536 MB"
    assert JobResources(time_limit=45).words() == "45 s"
