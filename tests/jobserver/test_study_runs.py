"""One study at several sites: a run holds a job request per backend, each planned against
that site's own states and datasets; bad input is refused before anything is written; each
site's own checkers review only what leaves their site."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from jupyter_ext.jobserver import orm

from .test_datasets import body as dataset_body
from .test_datasets import commit_datasets_yaml
from .test_releases import CONTENT, SHA

RUN = {"workspace": "sample", "backends": ["north", "south"], "actions": ["generate_dataset"]}


def two_sites(world) -> dict[str, str]:
    """North and south beside tpp, both usable by the organisation: their runner tokens."""
    tokens = {site: world.backend(site) for site in ("north", "south")}
    with world.factory() as session:
        org = session.scalar(select(orm.Org).where(orm.Org.slug == "uni"))
        org.backends += [
            session.scalar(select(orm.Backend).where(orm.Backend.slug == s)) for s in tokens
        ]
        session.commit()
    return tokens


def written(world) -> tuple[int, int, int]:
    with world.factory() as session:
        return tuple(
            session.scalar(select(func.count()).select_from(t))
            for t in (orm.StudyRun, orm.JobRequest, orm.Job)
        )


def poll(world, token: str) -> list[dict]:
    return world.client(token=token).post("runner/poll", json={"wait": 0}).json()


def finish(world, token: str, identifier: str, state: str = "succeeded", outputs=()) -> None:
    runner = world.client(token=token)
    if outputs:
        runner.post(f"runner/jobs/{identifier}/outputs", json={"outputs": list(outputs)})
    reply = runner.post(f"runner/jobs/{identifier}/status", json={"state": state, "exit_code": 0})
    assert reply.status_code == 200, reply.text


def test_a_run_holds_a_job_request_per_site_at_one_commit(world):
    tokens = two_sites(world)
    dev = world.client("dev")
    created = dev.post("runs", json=RUN, headers={"Idempotency-Key": "k1"})
    assert created.status_code == 201, created.text
    run = created.json()
    assert [s["backend"] for s in run["sites"]] == ["north", "south"]
    assert run["sha"] == world.sha and run["state"] == "pending"
    parts = {s["backend"]: s["job_request"] for s in run["sites"]}
    assert {p["sha"] for p in parts.values()} == {world.sha}
    assert {p["run"] for p in parts.values()} == {run["id"]}
    assert all(p["backend"] == site for site, p in parts.items())
    # never seen: each site says it is waiting for its runner
    assert run["sites"][0]["message"] == "waiting for north: never seen"
    again = dev.post("runs", json=RUN, headers={"Idempotency-Key": "k1"})
    assert again.status_code == 200 and again.json()["id"] == run["id"]

    # each runner leases its own site's job only
    (north,) = poll(world, tokens["north"])
    assert north["identifier"] == parts["north"]["jobs"][0]["identifier"]
    assert poll(world, world.runner_token) == []
    finish(world, tokens["north"], north["identifier"])
    halfway = dev.get(f"runs/{run['id']}").json()
    assert halfway["state"] == "running"
    assert [s["state"] for s in halfway["sites"]] == ["succeeded", "pending"]
    assert halfway["summary"].startswith("north succeeded, south pending")

    (south,) = poll(world, tokens["south"])
    finish(world, tokens["south"], south["identifier"], "failed")
    ended = dev.get(f"runs/{run['id']}").json()
    assert ended["state"] == "failed"
    assert ended["sites"][1]["message"].startswith("generate_dataset failed")

    # the event log and the list show the run as one thing with its parts
    jobs = dev.get("jobs", params={"run": run["id"]}).json()["items"]
    assert {j["backend"] for j in jobs} == {"north", "south"}
    assert [r["id"] for r in dev.get("runs", params={"workspace": "sample"}).json()["items"]] == [
        run["id"]
    ]
    assert world.client("outsider").get(f"runs/{run['id']}").status_code == 403
    audit = world.client("admin").get("audit", params={"target_type": "study_run"}).json()
    assert audit["items"][0]["after"]["sites"] == {s: p["id"] for s, p in parts.items()}


def test_bad_sites_are_refused_in_one_sentence_and_nothing_is_written(world, tmp_path):
    tokens = two_sites(world)
    world.backend("elsewhere")  # the organisation may not use it
    dev = world.client("dev")
    before = written(world)

    def refused(backends, status=422):
        answer = dev.post("runs", json={**RUN, "backends": backends})
        assert answer.status_code == status, answer.text
        return answer.json()["detail"]

    assert refused([]) == "name at least one backend to run at"
    assert refused(["north", "south", "north"]) == (
        "the backend north is named twice: name each site once"
    )
    assert refused(["north", "elsewhere"]) == (
        "at elsewhere: the organisation uni may not use the backend elsewhere: "
        "ask an administrator to allow it"
    )
    assert "there is no backend 'nowhere'" in refused(["north", "nowhere"], 404)

    # a dataset by name: north has it and the approval, south has neither
    world.user("governor", ["governance_reviewer"])
    north = world.client(token=tokens["north"])
    assert north.post("runner/datasets", json=dataset_body()).status_code == 200
    ask = {"project": "sample-study", "backend": "north", "dataset": "primary-care", "purpose": "p"}
    access = dev.post("dataset-access", json=ask).json()
    world.client("governor").post(f"dataset-access/{access['id']}/approve", json={})
    commit_datasets_yaml(
        world, tmp_path, "version: 1\nactions:\n  generate_dataset: [primary-care]\n"
    )
    detail = refused(["north", "south"])
    assert detail.startswith("at south: the action generate_dataset reads a dataset it may not")
    assert "the backend south has no dataset 'primary-care'" in detail
    south = world.client(token=tokens["south"])
    assert south.post("runner/datasets", json=dataset_body()).status_code == 200
    assert "may not use the dataset primary-care on south: ask for it" in refused(
        ["north", "south"]
    )
    assert written(world) == before

    # approved at both: each site's job reads its own registration of that name
    ask["backend"] = "south"
    access = dev.post("dataset-access", json=ask).json()
    world.client("governor").post(f"dataset-access/{access['id']}/approve", json={})
    assert dev.post("runs", json=RUN).status_code == 201
    for site in ("north", "south"):
        (lease,) = poll(world, tokens[site])
        assert [d["name"] for d in lease["datasets"]] == ["primary-care"]


def test_a_site_offline_waits_while_the_others_go_on_and_one_site_is_cancelled(world):
    tokens = two_sites(world)
    dev = world.client("dev")
    run = dev.post("runs", json=RUN).json()
    (north,) = poll(world, tokens["north"])
    with world.factory() as session:  # south's runner was last seen 12 minutes ago
        south = session.scalar(select(orm.Backend).where(orm.Backend.slug == "south"))
        south.last_seen_at = orm.utcnow() - dt.timedelta(minutes=12, seconds=5)
        session.commit()
    shown = dev.get(f"runs/{run['id']}").json()
    assert shown["state"] == "running"
    assert [s["message"] for s in shown["sites"]] == [
        "",
        "waiting for south: last seen 12 minutes ago",
    ]
    assert shown["summary"] == (
        "north running, south pending; waiting for south: last seen 12 minutes ago"
    )

    cancelled = dev.post(f"runs/{run['id']}/cancel", params={"backend": "south"})
    assert cancelled.status_code == 200, cancelled.text
    assert [s["state"] for s in cancelled.json()["sites"]] == ["running", "cancelled"]
    again = dev.post(f"runs/{run['id']}/cancel", params={"backend": "south"})
    assert again.status_code == 409 and again.json()["detail"] == (
        "nothing to cancel at south: every job of this run has finished"
    )
    assert world.client("collab").post(f"runs/{run['id']}/cancel").status_code == 403
    finish(world, tokens["north"], north["identifier"])
    assert dev.get(f"runs/{run['id']}").json()["state"] == "cancelled"


def test_a_site_with_nothing_left_to_do_takes_no_jobs(world):
    tokens = two_sites(world)
    dev = world.client("dev")
    first = dev.post("runs", json={**RUN, "backends": ["north"]}).json()
    (lease,) = poll(world, tokens["north"])
    finish(world, tokens["north"], lease["identifier"])
    assert dev.get(f"runs/{first['id']}").json()["state"] == "succeeded"
    # derive_measures at both: north reuses its dataset, south makes its own first
    both = dev.post("runs", json={**RUN, "actions": ["derive_measures"]}).json()
    jobs = {s["backend"]: [j["action"] for j in s["job_request"]["jobs"]] for s in both["sites"]}
    assert jobs == {"north": ["derive_measures"], "south": ["generate_dataset", "derive_measures"]}
    # while north's derive_measures waits, asking for it again there is nothing to do: that
    # site's part is recorded as such, and the site with work still runs
    again = dev.post(
        "runs", json={**RUN, "backends": ["north", "tpp"], "actions": ["derive_measures"]}
    )
    assert again.status_code == 201, again.text
    sites = {s["backend"]: s for s in again.json()["sites"]}
    assert sites["north"]["state"] == "nothing_to_do"
    assert sites["north"]["job_request"]["jobs"] == []
    assert sites["north"]["message"].startswith("nothing to do")
    assert sites["tpp"]["state"] == "pending"
    only_north = dev.post(
        "runs", json={**RUN, "backends": ["north"], "actions": ["derive_measures"]}
    )
    assert only_north.status_code == 409
    assert only_north.json()["detail"] == (
        "nothing to do: all requested actions are already scheduled to run"
    )


def release_at(world, token: str, site: str, identifier: str) -> dict:
    output = {
        "path": "output/table.csv",
        "size": len(CONTENT),
        "sha256": SHA,
        "privacy_level": "moderately_sensitive",
    }
    finish(world, token, identifier, outputs=[output])
    group = {
        "context": "c",
        "disclosure_control": "d",
        "files": [{"job": identifier, "path": output["path"]}],
    }
    body = {"workspace": "sample", "backend": site, "groups": {"tables": group}}
    created = world.client("dev").post("releases", json=body)
    assert created.status_code == 201, created.text
    return created.json()


def test_each_site_reviews_only_what_leaves_it(world):
    tokens = two_sites(world)
    admin = world.client("admin")
    for name in ("north-checker", "south-checker", "checker"):
        world.user(name, ["output_checker"] if name == "checker" else [])
    named = admin.put("backends/north/members/north-checker", json={"roles": ["output_checker"]})
    assert named.status_code == 200, named.text
    assert named.json()["roles"] == ["output_checker"]
    admin.put("backends/south/members/south-checker", json={"roles": ["output_checker"]})
    wrong = admin.put("backends/south/members/south-checker", json={"roles": ["core_developer"]})
    assert wrong.status_code == 422
    assert (
        world.client("dev")
        .put("backends/south/members/dev", json={"roles": ["output_checker"]})
        .status_code
        == 403
    )
    members = admin.get("backends/north/members").json()
    assert [(m["username"], m["roles"]) for m in members] == [("north-checker", ["output_checker"])]

    run = world.client("dev").post("runs", json=RUN).json()
    releases = {}
    for site in ("north", "south"):
        (lease,) = poll(world, tokens[site])
        releases[site] = release_at(world, tokens[site], site, lease["identifier"])

    north_checker = world.client("north-checker")
    listed = north_checker.get("releases").json()["items"]
    assert [r["backend"] for r in listed] == ["north"]  # south's is not even listed
    north_file = releases["north"]["files"][0]["id"]
    south_file = releases["south"]["files"][0]["id"]
    vote = {"decision": "approve"}
    ok = north_checker.post(
        f"releases/{releases['north']['id']}/files/{north_file}/reviews", json=vote
    )
    assert ok.status_code == 201, ok.text
    refused = north_checker.post(
        f"releases/{releases['south']['id']}/files/{south_file}/reviews", json=vote
    )
    assert refused.status_code == 403
    # the site's checker reads its release's page, without links into the project they do
    # not see; the other site's release page is refused
    from .test_pages import get

    page = get(
        world, "north-checker", f"/uni/sample-study/sample/releases/{releases['north']['id']}"
    )
    assert page.status_code == 200 and "Your vote on output/table.csv" in page.text
    assert 'href="/uni/sample-study"' not in page.text
    other = f"/uni/sample-study/sample/releases/{releases['south']['id']}"
    assert get(world, "north-checker", other).status_code == 403
    south = f"releases/{releases['south']['id']}"
    for path in (south, f"{south}/files/{south_file}/review-copy"):
        answer = north_checker.get(path)
        assert answer.status_code == 403, path
        assert "only south's output checkers (or global ones) review it" in answer.json()["detail"]
    assert north_checker.get(f"runs/{run['id']}").status_code == 403  # the project is not theirs
    # the global checker is the second person at either site
    checker = world.client("checker")
    for site, file in (("north", north_file), ("south", south_file)):
        second = checker.post(f"releases/{releases[site]['id']}/files/{file}/reviews", json=vote)
        assert second.status_code == 201, second.text
    assert (
        world.client("north-checker")
        .get(f"releases/{releases['north']['id']}")
        .json()["files"][0]["state"]
        == "approved"
    )
    # a site's publisher publishes what leaves that site, and nothing else
    world.user("south-publisher")
    admin.put("backends/south/members/south-publisher", json={"roles": ["output_publisher"]})
    publisher = world.client("south-publisher")
    assert publisher.post(f"releases/{releases['north']['id']}/publish").status_code == 403
    south_vote = f"releases/{releases['south']['id']}/files/{south_file}/reviews"
    assert world.client("south-checker").post(south_vote, json=vote).status_code == 201
    published = publisher.post(f"releases/{releases['south']['id']}/publish")
    assert published.status_code == 200 and published.json()["state"] == "released"
    assert admin.delete("backends/north/members/north-checker").status_code == 204
    assert north_checker.get(f"releases/{releases['north']['id']}").status_code == 403


def test_a_site_whose_runner_dies_mid_run_fails_by_the_lease_rules_and_the_other_goes_on(
    world,
):
    from jupyter_ext.jobserver.services.leasing import expire_leases

    tokens = two_sites(world)
    dev = world.client("dev")
    run = dev.post("runs", json={**RUN, "actions": ["derive_measures"]}).json()
    leased = {site: poll(world, tokens[site])[0]["identifier"] for site in ("north", "south")}
    with world.factory() as session:  # south's runner stopped renewing its lease
        job = session.scalar(select(orm.Job).where(orm.Job.identifier == leased["south"]))
        job.lease_expires_at = orm.utcnow() - dt.timedelta(seconds=1)
        session.commit()
    assert expire_leases(world.factory, requeue=False) == 1
    finish(world, tokens["north"], leased["north"])  # north goes on to its next job
    (north_next,) = poll(world, tokens["north"])
    with world.factory() as session:  # and south's runner is not heard of for 5 minutes
        south = session.scalar(select(orm.Backend).where(orm.Backend.slug == "south"))
        south.last_seen_at = orm.utcnow() - dt.timedelta(minutes=5, seconds=1)
        session.commit()
    shown = dev.get(f"runs/{run['id']}").json()
    sites = {s["backend"]: s for s in shown["sites"]}
    assert (sites["north"]["state"], sites["south"]["state"]) == ("running", "running")
    assert sites["south"]["message"] == (
        "waiting for south: last seen 5 minutes ago; generate_dataset failed: failed: its "
        "runner stopped reporting (lease expired)"
    )
    finish(world, tokens["north"], north_next["identifier"])
    # back, south's runner is told its dependent job cannot start: that site's part fails
    assert poll(world, tokens["south"]) == []
    ended = dev.get(f"runs/{run['id']}").json()
    assert ended["state"] == "failed" and ended["summary"] == "north succeeded, south failed"
