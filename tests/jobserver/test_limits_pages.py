"""The project page's limits (issue 24): per backend the project's cap and jobs-per-day quota
with what it uses of them, read by its members; set or lifted by who manages backends, with
bad input refused in a sentence and nothing changed. And the run-jobs page's plan: the quota
and the cap at the chosen backend, and the submission's own refusal when the plan would go
over the quota (no run offered), each planned job beside what it asks to run with."""

from __future__ import annotations

import itertools
import re

import httpx
from sqlalchemy import select

from jupyter_ext.jobserver import orm

from .test_admin_pages import Outline, browser_server, count, post, problem  # noqa: F401
from .test_hubauth import hub  # noqa: F401  (the hub's user API and OAuth, on loopback)
from .test_pages import get, root
from .test_resources import commit_resources_yaml, report_limits
from .test_study_runs import two_sites, written
from .test_work_pages import hidden

PROJECT = "/uni/sample-study"
SET_TPP = f"{PROJECT}/settings/limits/tpp"
RUN_JOBS = "/uni/sample-study/sample/run-jobs"


def shown(page, backend: str = "tpp") -> dict[str, str]:
    """The limits table's row of `backend`: its cells by field."""
    row = page.text.split(f'<tr id="limits-{backend}">')[1].split("</tr>")[0]
    cells = re.findall(r'<td data-field="(\w+)">([^<]*)</td>', row)
    return dict(cells)


def words(text: str, id: str, end: str = "</li>") -> str:
    """The text of the element with `id`, its spacing as a reader sees it."""
    inner = text.split(f'id="{id}">')[1].split(end)[0]
    return " ".join(re.sub(r"<[^>]+>", "", inner).split())


def stored(world, backend: str = "tpp") -> tuple[int | None, int | None] | None:
    with world.factory() as session:
        found = session.scalar(
            select(orm.ProjectBackendLimit)
            .join(orm.Backend, orm.Backend.id == orm.ProjectBackendLimit.backend_id)
            .where(orm.Backend.slug == backend)
        )
        return (found.max_running, found.jobs_per_day) if found else None


def audited(world) -> int:
    with world.factory() as session:
        where = orm.AuditEvent.action == "project.limits.set"
        return len(session.scalars(select(orm.AuditEvent).where(where)).all())


def test_members_read_the_limits_and_an_administrator_sets_and_lifts_them(world):
    admin = world.client("admin")
    assert admin.put("projects/sample-study/limits/tpp", json={"max_running": 2}).is_success
    made = world.client("dev").post(
        "job-requests", json={"workspace": "sample", "backend": "tpp", "actions": ["make_table"]}
    )
    assert made.status_code == 201, made.text
    world.client(token=world.runner_token).post("runner/poll", json={"wait": 0})
    for who in ("dev", "collab"):  # read only: no form, whatever the role in the project
        page = get(world, who, PROJECT)
        assert page.status_code == 200 and '<h2 id="limits">Limits</h2>' in page.text
        assert shown(page) == {
            "max_running": "2",
            "running": "1",
            "jobs_per_day": "no quota",
            "jobs_last_day": "3",
        }
        assert "limits-form-tpp" not in page.text and "settings/limits" not in page.text
    page = get(world, "admin", PROJECT)
    form = page.text.split('id="limits-form-tpp"')[1].split("</form>")[0]
    assert 'name="max_running" value="2"' in form and 'name="jobs_per_day" value=""' in form
    outline = Outline()
    outline.feed(page.text)
    assert all(c and c in outline.labelled for c in outline.controls), outline.controls
    assert len(outline.controls) == len(set(outline.controls))
    assert all(b <= a + 1 for a, b in itertools.pairwise(outline.headings)), outline.headings

    saved = post(world, "admin", SET_TPP, {"max_running": "", "jobs_per_day": " 5 "})
    assert saved.status_code == 303, problem(saved)
    assert saved.headers["location"] == "/uni/sample-study?done=limits#limits"
    assert stored(world) == (None, 5) and audited(world) == 2
    page = get(world, "admin", f"{PROJECT}?done=limits")
    assert "The limits are saved" in page.text
    assert shown(page)["max_running"] == "no cap" and shown(page)["jobs_per_day"] == "5"

    lifted = post(world, "admin", SET_TPP, {"max_running": "", "jobs_per_day": ""})
    assert lifted.status_code == 303 and stored(world) is None and audited(world) == 3
    assert shown(get(world, "dev", PROJECT))["jobs_per_day"] == "no quota"


def test_bad_limits_are_refused_in_a_sentence_and_change_nothing(world):
    assert post(world, "admin", SET_TPP, {"max_running": "3", "jobs_per_day": "50"}).is_redirect
    before = audited(world)
    for fields, status, said in (
        (
            {"max_running": "-1", "jobs_per_day": "50"},
            422,
            "At most running at once: -1 is below 0: write 0 or more, or leave it empty to "
            "lift that limit",
        ),
        (
            {"max_running": "3", "jobs_per_day": "lots"},
            422,
            "Jobs a day: 'lots' is not a whole number: write one, like 10, or leave it empty "
            "to lift that limit",
        ),
        (
            {"max_running": "1.5", "jobs_per_day": "50"},
            422,
            "At most running at once: '1.5' is not a whole number",
        ),
        (
            {"max_running": "100001", "jobs_per_day": "50"},
            422,
            "At most running at once: Input should be less than or equal to 100000",
        ),
    ):
        page = post(world, "admin", SET_TPP, fields)
        assert page.status_code == status, (fields, page.status_code)
        assert problem(page).startswith(f"Not done on tpp: {said}"), problem(page)
        form = page.text.split('id="limits-form-tpp"')[1].split("</form>")[0]
        assert 'aria-describedby="limits-problem"' in form
        typed = fields["max_running"]
        assert f'name="max_running" value="{typed}"' in form  # as typed, to mend
        assert stored(world) == (3, 50) and audited(world) == before
    nowhere = post(world, "admin", f"{PROJECT}/settings/limits/nowhere", {"max_running": "1"})
    assert nowhere.status_code == 404 and "nowhere" in problem(nowhere)
    refused = post(world, "dev", SET_TPP, {"max_running": "100"})
    assert refused.status_code == 403 and "may not manage backends" in refused.text
    elsewhere = post(
        world, "admin", "/other/sample-study/settings/limits/tpp", {"max_running": "1"}
    )
    assert elsewhere.status_code == 404
    assert stored(world) == (3, 50) and audited(world) == before


def test_a_cookie_session_sets_limits_only_with_the_forms_csrf_token(browser_server):  # noqa: F811
    server = browser_server
    server.backend("tpp")
    server.org("uni", ["tpp"])
    server.project("uni", "Sample study")
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        page = browser.get(f"{root(server)}login", params={"next": PROJECT})
        assert page.status_code == 200 and 'id="limits-form-tpp"' in page.text
        token = re.search(r'name="_xsrf" value="([0-9a-f]+)"', page.text).group(1)
        fields = {"max_running": "2", "jobs_per_day": ""}
        for forged in ({}, {"_xsrf": "0" * 64}):
            refused = browser.post(
                f"{root(server)}{SET_TPP.lstrip('/')}",
                data={**fields, **forged},
                follow_redirects=False,
            )
            assert refused.status_code == 403 and "CSRF token" in refused.text
        assert stored(server) is None
        saved = browser.post(
            f"{root(server)}{SET_TPP.lstrip('/')}",
            data={**fields, "_xsrf": token},
            follow_redirects=False,
        )
        assert saved.status_code == 303 and stored(server) == (2, None)


def plan(world, who: str, actions: list[str], backends=("tpp",), **more):
    page = get(world, who, RUN_JOBS)
    fields = {"action": actions, "backend": list(backends), "notify": "on", "intent": "plan"}
    fields.update(sha=hidden(page, "sha"), idempotency_key=hidden(page, "idempotency_key"))
    return post(world, who, RUN_JOBS, {**fields, **more}), fields


def test_the_plan_shows_the_quota_and_the_cap_and_the_refusal_before_submitting(world):
    admin = world.client("admin")
    limits = {"max_running": 1, "jobs_per_day": 4}
    assert admin.put("projects/sample-study/limits/tpp", json=limits).is_success
    planned, fields = plan(world, "dev", ["make_table"])
    assert planned.status_code == 200, problem(planned)
    assert words(planned.text, "plan-quota") == (
        "On tpp: 0 of 4 jobs used in the last 24 hours; this request makes 3."
    )
    cap = words(planned.text, "plan-cap")
    assert cap.startswith("On tpp the project has at most 1 running at once (0 running now)")
    assert 'value="run">Run these jobs' in planned.text and "plan-refusal" not in planned.text
    ran = post(world, "dev", RUN_JOBS, {**fields, "intent": "run", **_planned_for(planned)})
    assert ran.status_code == 303, problem(ran)

    # three asked: make_plot alone fits (derive_measures is pending, reused); report does not
    fits, _ = plan(world, "dev", ["make_plot"])
    assert fits.status_code == 200 and "plan-refusal" not in fits.text
    assert words(fits.text, "plan-quota").endswith(
        "3 of 4 jobs used in the last 24 hours; this request makes 1."
    )
    over, fields = plan(world, "dev", ["report"])
    assert over.status_code == 409
    said = problem(over).removeprefix("This request would be refused: ").removesuffix(".")
    api = world.client("dev").post(
        "job-requests",
        json={"workspace": "sample", "backend": "tpp", "actions": ["report"]},
    )
    assert api.status_code == 409 and said == api.json()["detail"]  # the sentence, once
    assert said.startswith(
        "the project sample-study may run 4 jobs a day on tpp; 3 were asked for in the last 24 "
        "hours and this request makes 2: ask for fewer actions, or wait until "
    )
    assert words(over.text, "plan-quota").endswith(
        "3 of 4 jobs used in the last 24 hours; this request makes 2."
    )
    assert 'value="run">Run these jobs' not in over.text and 'id="plan-not-offered"' in over.text
    before = written(world)
    sent = post(world, "dev", RUN_JOBS, {**fields, "intent": "run", **_planned_for(over)})
    assert sent.status_code == 409 and said in problem(sent)  # sent anyway: the same refusal
    assert written(world) == before


def _planned_for(page) -> dict[str, str]:
    return {"planned_for": hidden(page, "planned_for")}


def test_a_plan_without_limits_says_none_and_a_study_run_shows_each_sites(world):
    planned, _ = plan(world, "dev", ["generate_dataset"])
    assert planned.status_code == 200 and 'id="plan-limits"' not in planned.text
    two_sites(world)
    world.client("admin").put("projects/sample-study/limits/north", json={"jobs_per_day": 1})
    sites, _ = plan(world, "dev", ["derive_measures"], backends=("north", "south"))
    assert sites.status_code == 409
    north = sites.text.split('id="plan-at-north"')[1].split("</section>")[0]
    assert words(north, "plan-at-north-quota") == (
        "On north: 0 of 1 jobs used in the last 24 hours; this request makes 2."
    )
    refusal = words(north, "plan-at-north-refusal", "</div>")
    assert "may run 1 jobs a day on north" in refusal and "1 jobs at most" in refusal
    south = sites.text.split('id="plan-at-south"')[1].split("</section>")[0]
    assert "limits" not in south and "refusal" not in south
    assert "Run at these 2 sites" not in sites.text and 'id="plan-not-offered"' in sites.text


def test_each_planned_job_shows_what_it_asks_to_run_with(world, tmp_path):
    """What resources.yaml asks for, beside each planned job that asks for any."""
    report_limits(world)
    commit_resources_yaml(
        tmp_path,
        "version: 1\nactions:\n  generate_dataset:\n    cpus: 2\n    memory: 8G\n"
        "    time_limit: 2h\n  make_table: {}\n",
    )
    planned, _ = plan(world, "dev", ["make_table"])
    assert planned.status_code == 200, problem(planned)
    jobs = planned.text.split('id="plan-jobs"')[1].split("</ol>")[0]
    steps = re.findall(r"<li><strong>(\w+)</strong>(.*?)</li>", jobs, re.S)
    asked = {action: re.findall(r'data-field="resources">([^<]*)<', rest) for action, rest in steps}
    assert asked == {
        "generate_dataset": ["(asks for 2 CPUs, 8 GB, 2 h)"],
        "derive_measures": [],
        "make_table": [],
    }
    assert count(world, orm.JobRequest) == 0
