"""The study run's pages: two backends ticked on run-jobs plan each site side by side and run
as one study run; the run's page shows its actions by site, why a site waits, links each
site's job request and job, and cancels one site; the job request and workspace pages link
the run. Refusals are the service's sentences, in the form, nothing written."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from jupyter_ext.jobserver import orm

from .test_admin_pages import after, post, problem, row
from .test_datasets import commit_datasets_yaml
from .test_pages import get
from .test_study_runs import finish, poll, two_sites, written
from .test_work_pages import LIVE, hidden, live_config

RUN_JOBS = "/uni/sample-study/sample/run-jobs"


def test_two_sites_plan_side_by_side_and_run_as_a_study_run(world, tmp_path):
    two_sites(world)
    page = get(world, "dev", RUN_JOBS)
    ticked = re.findall(r'name="backend" value="([a-z]+)" id="backend-\1"\s*(checked)?', page.text)
    assert ticked == [("north", "checked"), ("south", ""), ("tpp", "")]  # the first, as before
    assert '<label class="form-check-label" for="backend-south">south</label>' in page.text
    fields = {"action": ["generate_dataset"], "backend": ["north", "south"], "notify": "on"}
    fields.update(sha=hidden(page, "sha"), idempotency_key=hidden(page, "idempotency_key"))
    planned = post(world, "dev", RUN_JOBS, {**fields, "intent": "plan"})
    assert planned.status_code == 200, problem(planned)
    for site in ("north", "south"):
        jobs = planned.text.split(f'id="plan-at-{site}-jobs"')[1].split("</ol>")[0]
        assert "<strong>generate_dataset</strong>: requested" in jobs
    assert 'id="plan-jobs"' not in planned.text and "Run at these 2 sites" in planned.text
    assert written(world) == (0, 0, 0)  # a plan writes nothing

    world.backend("elsewhere")  # the organisation may not use it
    for sites, status, said in (
        ([], 422, "name at least one backend to run at"),
        (["north", "north"], 422, "the backend north is named twice: name each site once"),
        (
            ["north", "elsewhere"],
            422,
            "at elsewhere: the organisation uni may not use the backend elsewhere",
        ),
    ):
        refused = post(world, "dev", RUN_JOBS, {**fields, "backend": sites, "intent": "plan"})
        assert refused.status_code == status and said in problem(refused), problem(refused)
    assert post(world, "collab", RUN_JOBS, {**fields, "intent": "plan"}).status_code == 403

    planned_for = hidden(planned, "planned_for")
    ran = post(world, "dev", RUN_JOBS, {**fields, "intent": "run", "planned_for": planned_for})
    run_id = after(ran).removeprefix("/runs/")
    again = post(world, "dev", RUN_JOBS, {**fields, "intent": "run", "planned_for": planned_for})
    assert after(again) == f"/runs/{run_id}"  # a second click makes no second run
    assert written(world) == (1, 2, 2)
    assert row(world, orm.StudyRun, id=run_id).sha == world.sha

    # a site without the dataset an action reads is refused, naming the site
    commit_datasets_yaml(world, tmp_path, "version: 1\nactions:\n  derive_measures: [cohort]\n")
    head = {**fields, "action": ["derive_measures"], "sha": "", "intent": "plan"}
    no_data = post(world, "dev", RUN_JOBS, head)
    assert no_data.status_code == 422
    assert problem(no_data).startswith("at north: the action derive_measures reads a dataset")
    assert written(world) == (1, 2, 2)


def test_the_run_page_shows_each_site_and_cancels_one(world):
    tokens = two_sites(world)
    made = world.client("dev").post(
        "runs",
        json={"workspace": "sample", "backends": ["north", "south"], "actions": ["make_plot"]},
    )
    run = made.json()
    parts = {s["backend"]: s["job_request"] for s in run["sites"]}
    url = f"/runs/{run['id']}"
    leased = [lease["identifier"] for lease in poll(world, tokens["north"])]
    world.client(token=tokens["north"]).post(
        f"runner/jobs/{leased[0]}/status", json={"state": "running"}
    )
    with world.factory() as session:  # south's runner was last seen 12 minutes ago
        south = session.scalar(select(orm.Backend).where(orm.Backend.slug == "south"))
        south.last_seen_at = orm.utcnow() - dt.timedelta(minutes=12, seconds=5)
        session.commit()

    page = get(world, "dev", url)
    assert page.status_code == 200
    assert "north running, south pending; waiting for south: last seen 12 minutes ago" in page.text
    grid = page.text.split('id="run-grid"')[1].split("</table>")[0]
    assert re.findall(r'<th scope="row">(\w+)</th>', grid) == [
        "generate_dataset",
        "derive_measures",
        "make_plot",
    ]
    north_jobs = {j["action"]: j["identifier"] for j in parts["north"]["jobs"]}
    first = north_jobs["generate_dataset"]
    assert re.search(
        rf'<td data-job="{first}"><span data-field="state"><span class="jx-state jx-state-running',
        grid,
    )
    assert f'href="/jobs/{first}"' in grid
    for part in parts.values():
        assert f'href="/job-requests/{part["id"]}"' in grid
    south_cell = grid.split('data-site="south"')[1].split("</td>")[0]
    assert "waiting for south: last seen 12 minutes ago" in south_cell
    assert 'name="backend" value="south"' in south_cell and "Cancel at south" in south_cell
    assert live_config(page)["events"] == f"/api/v1/events?kind=job&run={run['id']}"
    assert f'src="/{LIVE}"' in page.text

    looker = get(world, "collab", url)  # sees it, may not cancel it
    assert looker.status_code == 200 and f'action="{url}/cancel"' not in looker.text
    assert get(world, "outsider", url).status_code == 403
    assert post(world, "collab", f"{url}/cancel", {"backend": "south"}).status_code == 403
    assert {j.state for j in row(world, orm.JobRequest, id=parts["south"]["id"]).jobs} == {
        "pending"
    }

    cancelled = post(world, "dev", f"{url}/cancel", {"backend": "south"})
    assert after(cancelled) == url
    assert cancelled.headers["location"].endswith("done=cancelled-site")
    assert {j.state for j in row(world, orm.JobRequest, id=parts["south"]["id"]).jobs} == {
        "cancelled"
    }
    shown = get(world, "dev", f"{url}?done=cancelled-site")
    assert "That site&#39;s part is cancelled" in shown.text
    assert "Cancel at south" not in shown.text and "Cancel at north" in shown.text
    again = post(world, "dev", f"{url}/cancel", {"backend": "south"})
    assert again.status_code == 409
    assert problem(again) == "nothing to cancel at south: every job of this run has finished"

    # each part's job request page says it is part of the run; the workspace lists the run
    part = get(world, "collab", f"/job-requests/{parts['north']['id']}")
    assert 'id="part-of-run"' in part.text and f'href="{url}"' in part.text
    workspace = get(world, "collab", "/uni/sample-study/sample")
    assert f'<a href="{url}">{run["id"]}</a>' in workspace.text
    # and the event log shows every job of the run, from both sites
    assert f'href="/event-log?run={run["id"]}"' in page.text
    log = get(world, "collab", f"/event-log?run={run['id']}").text
    shown = set(re.findall(r'href="/jobs/(\w+)"', log))
    assert shown == {j["identifier"] for p in parts.values() for j in p["jobs"]}

    # the whole run: pending jobs stop now, the running one once its runner says so
    assert after(post(world, "dev", f"{url}/cancel")) == url
    finish(world, tokens["north"], leased[0], "cancelled")
    ended = get(world, "dev", url)
    assert "jx-state-cancelled" in ended.text.split("data-run-state>")[1].split("</span>")[0]
    assert LIVE not in ended.text and f'action="{url}/cancel"' not in ended.text
