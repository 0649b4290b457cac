"""A job request from submit to finish, through the real API on a real database."""

from __future__ import annotations


def runner(world):
    return world.client(token=world.runner_token)


def test_submit_lease_run_log_finish(world):
    dev = world.client("dev")
    created = dev.post(
        "job-requests",
        json={
            "workspace": "sample",
            "backend": "tpp",
            "actions": ["make_table"],
        },
    )
    assert created.status_code == 201, created.text
    request = created.json()
    assert request["sha"] == world.sha
    assert [j["action"] for j in request["jobs"]] == [
        "generate_dataset",
        "derive_measures",
        "make_table",
    ]
    assert request["state"] == "pending"
    first, second, _ = request["jobs"]
    assert second["wait_for"] == [first["identifier"]]

    run = runner(world)
    leases = run.post("runner/poll", json={"capacity": 5, "wait": 0}).json()
    assert [lease["action"] for lease in leases] == ["generate_dataset"]  # the others wait
    lease = leases[0]
    assert lease["repo"].endswith("sample") and lease["sha"] == world.sha
    assert lease["outputs"] == {"highly_sensitive": {"dataset": "output/dataset.csv"}}

    ident = lease["identifier"]
    assert (
        run.post(
            f"runner/jobs/{ident}/logs", json={"first_seq": 0, "lines": ["a", "b"]}
        ).status_code
        == 204
    )
    # a retried batch is not stored twice; a gap is refused with the expected number
    assert (
        run.post(
            f"runner/jobs/{ident}/logs", json={"first_seq": 1, "lines": ["b", "c"]}
        ).status_code
        == 204
    )
    gap = run.post(f"runner/jobs/{ident}/logs", json={"first_seq": 9, "lines": ["z"]})
    assert gap.status_code == 409 and gap.json()["errors"][0]["expected"] == 3
    logs = dev.get(f"jobs/{ident}/logs").json()
    assert [(line["seq"], line["text"]) for line in logs] == [(0, "a"), (1, "b"), (2, "c")]

    done = run.post(f"runner/jobs/{ident}/status", json={"state": "succeeded", "exit_code": 0})
    assert done.status_code == 200 and done.json()["state"] == "succeeded"
    assert [lease["action"] for lease in run.post("runner/poll", json={"wait": 0}).json()] == [
        "derive_measures"
    ]
    job = dev.get(f"jobs/{ident}").json()
    assert job["started_at"] and job["completed_at"] and job["runner"] == "tpp"


def test_failed_dependency_fails_what_waits_for_it(world):
    dev, run = world.client("dev"), runner(world)
    request = dev.post(
        "job-requests",
        json={"workspace": "sample", "backend": "tpp", "actions": ["derive_measures"]},
    ).json()
    (lease,) = run.post("runner/poll", json={"wait": 0}).json()
    run.post(
        f"runner/jobs/{lease['identifier']}/status",
        json={"state": "failed", "exit_code": 2, "status_message": "exit code 2"},
    )
    assert run.post("runner/poll", json={"wait": 0}).json() == []
    after = dev.get(f"job-requests/{request['id']}").json()
    assert [j["state"] for j in after["jobs"]] == ["failed", "failed"]
    assert "did not succeed" in after["jobs"][1]["status_message"]
    assert after["state"] == "failed"


def test_state_machine_refuses_what_it_does_not_allow(world):
    dev, run = world.client("dev"), runner(world)
    dev.post(
        "job-requests",
        json={"workspace": "sample", "backend": "tpp", "actions": ["generate_dataset"]},
    )
    (lease,) = run.post("runner/poll", json={"wait": 0}).json()
    url = f"runner/jobs/{lease['identifier']}/status"
    assert run.post(url, json={"state": "succeeded"}).status_code == 200
    again = run.post(url, json={"state": "running"})
    assert again.status_code == 409
    assert "succeeded cannot become running" in again.json()["detail"]


def test_cancel_pending_and_running(world):
    dev, run = world.client("dev"), runner(world)
    request = dev.post(
        "job-requests",
        json={"workspace": "sample", "backend": "tpp", "actions": ["derive_measures"]},
    ).json()
    (lease,) = run.post("runner/poll", json={"wait": 0}).json()
    cancelled = dev.post(f"job-requests/{request['id']}/cancel").json()
    running, pending = cancelled["jobs"]
    assert pending["state"] == "cancelled" and pending["cancelled_by"] == "dev"
    assert running["state"] == "running" and "cancelling" in running["status_message"]
    reply = run.post(
        "runner/heartbeat",
        json={"version": "t", "executor": "local", "capacity": 1, "running": [lease["identifier"]]},
    ).json()
    assert reply["cancel"] == [lease["identifier"]]
    run.post(f"runner/jobs/{lease['identifier']}/status", json={"state": "cancelled"})
    job = dev.get(f"jobs/{lease['identifier']}").json()
    assert job["state"] == "cancelled" and job["status_message"] == "cancelled by dev"
    assert dev.post(f"job-requests/{request['id']}/cancel").status_code == 409


def test_bad_job_requests_say_what_to_change_and_write_nothing(world, tmp_path):
    dev = world.client("dev")

    def refused(body, status, words, **headers):
        response = dev.post("job-requests", json=body, headers=headers)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert words in response.json()["detail"], response.json()
        return response.json()

    base = {"workspace": "sample", "backend": "tpp", "actions": ["make_table"]}
    refused({**base, "actions": ["make_tabel"]}, 422, "did you mean `make_table`")
    refused({**base, "backend": "nope"}, 404, "no backend 'nope'")
    refused({**base, "workspace": "nope"}, 404, "no workspace 'nope'")
    refused({**base, "sha": "0" * 40}, 422, "does not exist")
    refused({**base, "actions": []}, 422, "actions")
    refused({**base, "colour": "red"}, 422, "colour")
    outsider = world.client("outsider").post("job-requests", json=base)
    assert (
        outsider.status_code == 403
        and "may not run jobs in the project sample-study" in outsider.json()["detail"]
    )
    collab = world.client("collab").post("job-requests", json=base)
    assert collab.status_code == 403
    assert dev.get("job-requests").json()["items"] == []


def test_invalid_project_yaml_is_refused_with_its_lines(world, tmp_path):
    from .harness import git

    repo = tmp_path / "repos" / "sample"
    (repo / "project.yaml").write_text(
        (repo / "project.yaml")
        .read_text()
        .replace("needs: [generate_dataset]", "needs: [generate_dataset, nope]")
    )
    git(repo, "commit", "-qam", "break it")
    response = world.client("dev").post(
        "job-requests", json={"workspace": "sample", "backend": "tpp", "actions": ["make_table"]}
    )
    assert response.status_code == 422
    problem = response.json()
    assert "project.yaml is not valid" in problem["detail"]
    assert problem["errors"][0]["code"] == "unknown-need" and problem["errors"][0]["line"]


def test_idempotency_key_never_makes_two(world):
    dev = world.client("dev")
    body = {"workspace": "sample", "backend": "tpp", "actions": ["generate_dataset"]}
    first = dev.post("job-requests", json=body, headers={"Idempotency-Key": "k1"})
    second = dev.post("job-requests", json=body, headers={"Idempotency-Key": "k1"})
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert len(dev.get("job-requests").json()["items"]) == 1


def test_event_log_filters_and_pages(world):
    dev = world.client("dev")
    for actions in (["make_table"], ["make_plot"]):
        dev.post("job-requests", json={"workspace": "sample", "backend": "tpp", "actions": actions})
    jobs = dev.get("jobs", params={"limit": 2}).json()
    assert len(jobs["items"]) == 2 and jobs["next"]
    rest = dev.get(jobs["next"]).json()
    everything = jobs["items"] + rest["items"]
    ids = [j["identifier"] for j in everything]
    assert len(ids) == len(set(ids)) == 4  # make_table's 3, then make_plot alone (waits)
    assert dev.get("jobs", params={"q": "plot"}).json()["items"][0]["action"] == "make_plot"
    assert len(dev.get("jobs", params={"status": "pending"}).json()["items"]) == 4
    assert dev.get("jobs", params={"user": "dev", "backend": "tpp"}).json()["items"]
    assert world.client("outsider").get("jobs").json()["items"] == []
    assert dev.get("jobs", params={"cursor": "garbage"}).status_code == 400


def test_a_read_only_token_reads_and_never_changes(world):
    dev = world.client("dev")
    made = dev.post("me/tokens", json={"name": "dashboard", "scope": "read"}).json()
    assert made["scope"] == "read" and made["token"].startswith("jxa_")
    reader = world.client(token=made["token"])
    assert reader.get("jobs").status_code == 200
    refused = reader.post(
        "job-requests",
        json={"workspace": "sample", "backend": "tpp", "actions": ["generate_dataset"]},
    )
    assert refused.status_code == 403 and "may only read" in refused.json()["detail"]
    assert dev.get("job-requests").json()["items"] == []


def test_refusals_for_the_workspace_backend_and_token(world):
    from sqlalchemy import select

    from jupyter_ext.jobserver import orm

    dev, admin = world.client("dev"), world.client("admin")
    body = {"workspace": "sample", "backend": "tpp", "actions": ["generate_dataset"]}
    admin.post("backends", json={"slug": "elsewhere", "name": "Elsewhere"})
    other = dev.post("job-requests", json={**body, "backend": "elsewhere"})
    assert (
        other.status_code == 422 and "may not use the backend elsewhere" in other.json()["detail"]
    )
    dev.patch("workspaces/sample", json={"archived": True})
    archived = dev.post("job-requests", json=body)
    assert archived.status_code == 409 and "unarchive it first" in archived.json()["detail"]
    with world.factory() as session:  # a GitHub workspace, and dev has saved no token
        project = session.scalar(select(orm.Project))
        session.add(
            orm.Workspace(
                name="on-github",
                project_id=project.id,
                branch="main",
                repo="https://github.com/org/study",
                created_by_id=1,
            )
        )
        session.commit()
    no_token = dev.post("job-requests", json={**body, "workspace": "on-github"})
    assert no_token.status_code == 422 and "no GitHub token" in no_token.json()["detail"]
    assert dev.get("job-requests").json()["items"] == []
