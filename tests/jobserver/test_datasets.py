"""Datasets at a backend: registered by its runner, asked for by a project, decided by a
Governance Reviewer; every refusal says why and changes nothing."""

from __future__ import annotations

import datetime as dt
import hashlib

from jupyter_ext import schema


def manifest(*files: tuple[str, bytes], columns=("age", "integer")) -> dict:
    entries = [
        schema.ManifestFile(
            path=path,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            rows=data.count(b"\n") - 1,
            columns=[schema.Column(name=columns[0], type=columns[1])],
        )
        for path, data in files
    ]
    return {"files": [e.model_dump() for e in entries], "sha256": schema.manifest_digest(entries)}


PATIENTS = ("patients.csv", b"age\n34\n51\n")


def register(world, body: dict):
    return world.client(token=world.runner_token).post("runner/datasets", json=body)


def body(**changes) -> dict:
    return {
        "name": "primary-care",
        "description": "GP records, 2019-2024",
        "owner": "uni",
        "manifest": manifest(PATIENTS),
        **changes,
    }


def test_a_runner_registers_versions_and_retires_a_dataset(world):
    first = register(world, body())
    assert first.status_code == 200, first.text
    assert [v["version"] for v in first.json()["versions"]] == [1]
    assert register(world, body()).json()["versions"][0]["version"] == 1  # nothing changed
    grown = manifest(PATIENTS, ("visits.csv", b"age\n1\n"))
    second = register(world, body(manifest=grown)).json()
    assert [v["version"] for v in second["versions"]] == [2, 1]  # the old one kept
    listed = world.client("collab").get("datasets", params={"backend": "tpp"}).json()
    assert listed[0]["versions"][0]["manifest"]["files"][1]["columns"] == [
        {"name": "age", "type": "integer"}
    ]

    lying = manifest(PATIENTS)
    lying["sha256"] = "0" * 64
    wrong = register(world, body(name="other", manifest=lying))
    assert wrong.status_code == 422 and "not the hash of its files" in wrong.json()["detail"]
    escape = manifest(("../etc/passwd", b"x\n"))
    out = register(world, body(name="other", manifest=escape))
    assert out.status_code == 422 and "not a path inside the dataset" in out.json()["detail"]
    assert world.client("collab").get("datasets").json()[0]["name"] == "primary-care"
    assert len(world.client("collab").get("datasets").json()) == 1  # nothing else written

    runner = world.client(token=world.runner_token)
    assert runner.post("runner/datasets/primary-care/retire").json()["status"] == "retired"
    again = register(world, body(manifest=manifest(("new.csv", b"a\n1\n"))))
    assert again.status_code == 409 and "retired" in again.json()["detail"]
    assert world.client("dev").get("datasets").status_code == 200
    assert world.client().get("datasets").status_code == 401


def test_a_project_asks_and_a_governance_reviewer_decides(world):
    world.user("governor", ["governance_reviewer"])
    world.user("governor-dev", ["governance_reviewer", "project_developer"])
    register(world, body())
    dev, governor = world.client("dev"), world.client("governor")
    ask = {
        "project": "sample-study",
        "backend": "tpp",
        "dataset": "primary-care",
        "purpose": "rates of the condition by region",
    }
    assert world.client("collab").post("dataset-access", json=ask).status_code == 403
    bad = dev.post("dataset-access", json={**ask, "versions": [7]})
    assert bad.status_code == 422 and "has no version 7" in bad.json()["detail"]
    request = dev.post("dataset-access", json=ask).json()
    assert request["state"] == "requested"
    assert dev.get("datasets", params={"project": "sample-study"}).json() == []

    decide = f"dataset-access/{request['id']}"
    assert dev.post(f"{decide}/approve", json={}).status_code == 403  # no role
    own = world.client("governor-dev").post("dataset-access", json=ask).json()
    mine = world.client("governor-dev").post(f"dataset-access/{own['id']}/approve", json={})
    assert mine.status_code == 403 and "you asked for this access" in mine.json()["detail"]
    past = governor.post(f"{decide}/approve", json={"until": "2020-01-01"})
    assert past.status_code == 422 and "has passed" in past.json()["detail"]

    until = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    approved = governor.post(f"{decide}/approve", json={"reason": "fits", "until": until}).json()
    assert (approved["state"], approved["decided_by"], approved["until"]) == (
        "approved",
        "governor",
        until,
    )
    usable = dev.get("datasets", params={"project": "sample-study"}).json()
    assert [d["name"] for d in usable] == ["primary-care"]
    twice = governor.post(f"{decide}/approve", json={})
    assert twice.status_code == 409

    revoked = governor.post(f"{decide}/revoke", json={"reason": "study ended"}).json()
    assert revoked["state"] == "revoked"
    assert dev.get("datasets", params={"project": "sample-study"}).json() == []
    audit = world.client("admin").get("audit", params={"target_type": "dataset_access"}).json()
    assert [e["action"] for e in audit["items"]][:3] == [
        "dataset_access.revoked",
        "dataset_access.approved",
        "dataset_access.request",
    ]


def test_an_approval_past_its_day_has_expired(world):
    from jupyter_ext.jobserver import orm

    world.user("governor", ["governance_reviewer"])
    register(world, body())
    dev = world.client("dev")
    ask = {"project": "sample-study", "backend": "tpp", "dataset": "primary-care", "purpose": "p"}
    request = dev.post("dataset-access", json=ask).json()
    world.client("governor").post(f"dataset-access/{request['id']}/approve", json={})
    with world.factory() as session:
        session.get(orm.DatasetAccess, request["id"]).until = dt.date.today() - dt.timedelta(1)
        session.commit()
    assert dev.get(f"dataset-access/{request['id']}").json()["state"] == "expired"
    assert dev.get("datasets", params={"project": "sample-study"}).json() == []
    withdrawn = world.client("coord").post(f"dataset-access/{request['id']}/withdraw")
    assert withdrawn.status_code == 403


def commit_datasets_yaml(world, tmp_path, text: str) -> None:
    from .harness import git

    repo = tmp_path / "repos" / "sample"
    (repo / "datasets.yaml").write_text(text)
    git(repo, "add", "datasets.yaml")
    git(repo, "commit", "-q", "-m", "datasets")


def test_a_job_reads_only_what_its_project_was_approved_for(world, tmp_path):
    world.user("governor", ["governance_reviewer"])
    register(world, body())
    dev, runner = world.client("dev"), world.client(token=world.runner_token)
    submit = {"workspace": "sample", "backend": "tpp", "actions": ["generate_dataset"]}

    commit_datasets_yaml(world, tmp_path, "version: 1\nactions:\n  generate_dataset: [nope]\n")
    unknown = dev.post("job-requests", json=submit)
    assert unknown.status_code == 422 and "has no dataset 'nope'" in unknown.json()["detail"]
    commit_datasets_yaml(world, tmp_path, "version: 1\nactions:\n  generate_datset: [x]\n")
    invalid = dev.post("job-requests", json=submit)
    assert invalid.status_code == 422
    assert (
        "datasets.yaml:3:3: actions.generate_datset: there is no action 'generate_datset': "
        "did you mean 'generate_dataset'?" in invalid.json()["detail"]
    )

    commit_datasets_yaml(
        world, tmp_path, "version: 1\nactions:\n  generate_dataset: [primary-care]\n"
    )
    refused = dev.post("job-requests", json=submit)
    assert refused.status_code == 422
    assert "may not use the dataset primary-care on tpp: ask for it" in refused.json()["detail"]
    assert dev.get("job-requests").json()["items"] == []  # nothing was written

    ask = {"project": "sample-study", "backend": "tpp", "dataset": "primary-care", "purpose": "p"}
    access = dev.post("dataset-access", json=ask).json()
    world.client("governor").post(f"dataset-access/{access['id']}/approve", json={})
    created = dev.post("job-requests", json=submit)
    assert created.status_code == 201, created.text
    (lease,) = runner.post("runner/poll", json={"wait": 0}).json()
    version = world.client("dev").get("datasets/tpp/primary-care").json()["versions"][0]
    assert lease["datasets"] == [
        {"name": "primary-care", "version": 1, "sha256": version["manifest"]["sha256"]}
    ]

    # approved when asked, revoked while the next one waited: it never starts
    runner.post(f"runner/jobs/{lease['identifier']}/status", json={"state": "succeeded"})
    again = dev.post("job-requests", json=submit).json()
    world.client("governor").post(f"dataset-access/{access['id']}/revoke", json={})
    assert runner.post("runner/poll", json={"wait": 0}).json() == []
    job = dev.get(f"job-requests/{again['id']}").json()["jobs"][0]
    assert job["state"] == "failed"
    assert "may not use the dataset primary-care" in job["status_message"]


def test_a_project_asks_on_its_page_and_a_governance_reviewer_decides_on_theirs(world):
    from .test_pages import get
    from .test_release_pages import post

    world.user("governor", ["governance_reviewer"])
    register(world, body())
    page = get(world, "dev", "/uni/sample-study")
    assert "Ask to use a dataset" in page.text and "primary-care on tpp" in page.text
    empty = post(world, "dev", "/uni/sample-study/datasets/ask", {"dataset": "tpp/primary-care"})
    assert empty.status_code == 422 and "say what the project needs it for" in empty.text
    assert (
        post(
            world,
            "collab",
            "/uni/sample-study/datasets/ask",
            {"dataset": "tpp/primary-care", "purpose": "p"},
        ).status_code
        == 403
    )
    asked = post(
        world,
        "dev",
        "/uni/sample-study/datasets/ask",
        {"dataset": "tpp/primary-care", "purpose": "rates by region"},
    )
    assert asked.status_code == 303
    queue = get(world, "governor", "/dataset-access")
    assert "rates by region" in queue.text and "Approve" in queue.text
    assert "Approve" not in get(world, "dev", "/dataset-access").text
    (request,) = world.client("dev").get("dataset-access").json()["items"]
    bad_day = post(world, "governor", f"/dataset-access/{request['id']}/approve", {"until": "soon"})
    assert bad_day.status_code == 422 and "is not a day" in bad_day.text
    done = post(world, "governor", f"/dataset-access/{request['id']}/approve", {"reason": "ok"})
    assert done.status_code == 303
    shown = get(world, "dev", "/uni/sample-study").text
    assert "patients.csv" in shown and "age <small>(integer)</small>" in shown
