"""Applying for a project: submitted, rejected with a reason, resubmitted, approved."""

from __future__ import annotations


def test_apply_reject_resubmit_approve(world):
    world.user("applicant")
    world.user("reviewer", ["technical_reviewer"])
    form = {
        "study_name": "Heart health",
        "org": "uni",
        "purpose": "Study hearts",
        "data": "GP records",
        "backends": ["tpp"],
        "people": ["dev", "nobody"],
    }
    applicant, reviewer = world.client("applicant"), world.client("reviewer")
    created = applicant.post("applications", json=form)
    assert created.status_code == 201, created.text
    application = created.json()
    assert application["state"] == "submitted"
    assert [a["id"] for a in applicant.get("applications").json()["items"]] == [application["id"]]
    assert world.client("dev").get("applications").json()["items"] == []
    url = f"applications/{application['id']}"
    assert applicant.post(f"{url}/approve", json={}).status_code == 403
    no_reason = reviewer.post(f"{url}/reject", json={"reason": " "})
    assert no_reason.status_code == 422 and "say why" in no_reason.json()["detail"]
    rejected = reviewer.post(f"{url}/reject", json={"reason": "say which data"}).json()
    assert (rejected["state"], rejected["reason"]) == ("rejected", "say which data")
    assert reviewer.post(f"{url}/approve", json={}).status_code == 409
    assert reviewer.post(f"{url}/resubmit", json=form).status_code == 403
    resubmitted = applicant.post(f"{url}/resubmit", json={**form, "data": "GP records, 2020"})
    assert resubmitted.json()["state"] == "submitted"
    approved = reviewer.post(f"{url}/approve", json={"reason": "fine"}).json()
    assert approved["state"] == "approved" and approved["project"] == "heart-health"
    project = applicant.get("projects/heart-health").json()
    assert project["name"] == "Heart health" and project["org"] == "uni"
    members = {
        m["username"]: m["roles"] for m in applicant.get("projects/heart-health/members").json()
    }
    assert members == {
        "applicant": ["project_coordinator", "project_developer"],
        "dev": ["project_developer"],
    }
