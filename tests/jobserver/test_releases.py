"""From a job's output to a released file: frozen, reviewed twice, published, uploaded."""

from __future__ import annotations

import hashlib

from jupyter_ext.jobserver.serving import FILE_POLICY

from .harness import leased_job

CONTENT = b"region,count\nnorth,35\n"
SHA = hashlib.sha256(CONTENT).hexdigest()


def finished_job_with_outputs(world):
    runner = world.client(token=world.runner_token)
    job = leased_job(world)
    outputs = [
        {
            "path": "output/table.csv",
            "size": len(CONTENT),
            "sha256": SHA,
            "privacy_level": "moderately_sensitive",
        },
        {
            "path": "output/dataset.csv",
            "size": 10,
            "sha256": "1" * 64,
            "privacy_level": "highly_sensitive",
        },
    ]
    assert runner.post(f"runner/jobs/{job}/outputs", json={"outputs": outputs}).status_code == 204
    runner.post(f"runner/jobs/{job}/status", json={"state": "succeeded", "exit_code": 0})
    return job


def test_release_reviewed_twice_published_and_uploaded(world):
    world.user("checker1", ["output_checker"])
    world.user("checker2", ["output_checker"])
    world.user("publisher", ["output_publisher"])
    job = finished_job_with_outputs(world)
    dev = world.client("dev")

    def ask(path):
        return dev.post(
            "releases",
            json={
                "workspace": "sample",
                "backend": "tpp",
                "groups": {
                    "tables": {
                        "context": "counts by region",
                        "disclosure_control": "rounded to 5",
                        "files": [{"job": job, "path": path}],
                    }
                },
            },
        )

    refused = ask("output/dataset.csv")
    assert refused.status_code == 422 and "never leave the backend" in refused.json()["detail"]
    created = ask("output/table.csv")
    assert created.status_code == 201, created.text
    release = created.json()
    (file,) = release["files"]
    assert (file["sha256"], file["state"]) == (SHA, "requested")
    vote = f"releases/{release['id']}/files/{file['id']}/reviews"

    assert dev.post(vote, json={"decision": "approve"}).status_code == 403  # not a checker
    first = world.client("checker1").post(vote, json={"decision": "approve", "comment": "ok"})
    assert first.status_code == 201
    # the second checker sees no vote before voting
    before = world.client("checker2").get(f"releases/{release['id']}").json()
    assert before["files"][0]["reviews"] == [] and before["files"][0]["state"] == "in_review"
    second = world.client("checker2").post(vote, json={"decision": "approve"}).json()
    assert {r["reviewer"] for r in second["files"][0]["reviews"]} == {"checker1", "checker2"}
    assert second["files"][0]["state"] == "approved"
    again = world.client("checker2").post(vote, json={"decision": "reject"})
    assert again.status_code == 409

    assert world.client("checker1").post(f"releases/{release['id']}/publish").status_code == 403
    published = world.client("publisher").post(f"releases/{release['id']}/publish").json()
    assert published["state"] == "released"

    runner = world.client(token=world.runner_token)
    reply = runner.post(
        "runner/heartbeat", json={"version": "t", "executor": "local", "capacity": 1}
    ).json()
    (upload,) = reply["uploads"]
    assert (upload["file"], upload["sha256"], upload["path"]) == (file["id"], SHA, file["path"])
    wrong = runner.put(f"runner/release-files/{file['id']}", content=b"changed on the site")
    assert wrong.status_code == 422 and "changed on the site" in wrong.json()["detail"]
    file_url = f"{world.base_url.removesuffix('api/v1/')}api/v2/releases/file/{file['id']}"
    assert dev.get(file_url).status_code == 409  # not uploaded yet
    ok = runner.put(f"runner/release-files/{file['id']}", content=CONTENT)
    assert ok.status_code == 204

    served = world.client("collab").get(file_url)
    assert served.status_code == 200 and served.content == CONTENT
    assert served.headers["content-security-policy"] == FILE_POLICY
    assert served.headers["x-content-type-options"] == "nosniff"
    assert world.client("outsider").get(file_url).status_code == 403

    audit = world.client("admin").get("audit", params={"target_type": "release_file"}).json()
    actions = [e["action"] for e in audit["items"]]
    assert {
        "release_file.view",
        "release_file.upload",
        "release_file.upload.refused",
        "release_file.review",
    } <= set(actions)
    assert (
        next(e for e in audit["items"] if e["action"] == "release_file.view")["actor"] == "collab"
    )


def test_the_author_never_reviews_and_a_tie_waits_for_a_third(world):
    world.user("checker1", ["output_checker", "project_developer"])
    world.user("checker2", ["output_checker"])
    world.user("checker3", ["output_checker"])
    job = finished_job_with_outputs(world)
    author = world.client("checker1")
    release = author.post(
        "releases",
        json={
            "workspace": "sample",
            "backend": "tpp",
            "groups": {
                "g": {
                    "context": "c",
                    "disclosure_control": "d",
                    "files": [{"job": job, "path": "output/table.csv"}],
                }
            },
        },
    ).json()
    vote = f"releases/{release['id']}/files/{release['files'][0]['id']}/reviews"
    own = author.post(vote, json={"decision": "approve"})
    assert own.status_code == 403 and "may not review it" in own.json()["detail"]
    world.client("checker2").post(vote, json={"decision": "approve"})
    tied = world.client("checker3").post(vote, json={"decision": "reject"}).json()
    assert tied["files"][0]["state"] == "in_review"
    world.user("checker4", ["output_checker"])
    settled = world.client("checker4").post(vote, json={"decision": "reject"}).json()
    assert settled["files"][0]["state"] == "rejected"
