"""The work pages (the user guide's steps 7 to 9, the event log, the job request and the job):
each form posts to the API's own route function, answers with a redirect, refuses as a page,
and writes nothing when its input is invalid. Live updates are a script the pages carry;
they are tested for being there, never for their timing."""

from __future__ import annotations

import html
import json
import re

import httpx
import pytest

from jupyter_ext.jobserver import orm
from jupyter_ext.jobserver.repos import GitHub, LocalGit, Repositories

from .harness import git, make_repo
from .test_admin_pages import after, browser_server, count, post, problem, row  # noqa: F401
from .test_hubauth import hub  # noqa: F401  (the hub's user API and OAuth, on loopback)
from .test_pages import get, root
from .test_repos import TOKEN, serve
from .test_repos import FakeGitHub as RepoFakeGitHub

LIVE = "static/jupyter-ext/live.js"


def jobs_shown(page) -> list[str]:
    return re.findall(r'<tr data-job="([a-z0-9]+)"', page.text)


def hidden(page, name: str) -> str:
    found = re.search(rf'name="{name}" value="([^"]*)"', page.text)
    assert found, f"no hidden field {name}"
    return html.unescape(found.group(1))


def live_config(page) -> dict:
    """What the page's live script subscribes to."""
    found = re.search(
        r'<script type="application/json" id="jx-live"[^>]*>(.*?)</script>', page.text, re.S
    )
    assert found, "no live updates on this page"
    return json.loads(found.group(1))


def submit(world, who: str, actions: list[str], backend: str = "tpp") -> dict:
    wanted = {"workspace": "sample", "backend": backend, "actions": actions}
    made = world.client(who).post("job-requests", json=wanted)
    assert made.status_code == 201, made.text
    return made.json()


# -- 8. settings ----------------------------------------------------------------------------------


def test_settings_save_the_notification_address_and_the_github_token(world):
    page = get(world, "dev", "/settings")
    assert page.status_code == 200 and '<label for="email" class="form-label">' in page.text
    assert "No GitHub token is saved" in page.text and f'href="/{LIVE}"' not in page.text
    wrong = post(world, "dev", "/settings", {"fullname": "Dee", "email": "not an address"})
    assert wrong.status_code == 422 and "give an email address like" in problem(wrong)
    assert 'value="not an address"' in wrong.text  # what was typed stays, to be corrected
    assert row(world, orm.User, username="dev").email == ""
    saved = post(world, "dev", "/settings", {"fullname": "Dee", "email": "dee@example.org"})
    assert after(saved) == "/settings"
    assert (
        row(world, orm.User, username="dev").email,
        world.client("dev").get("me").json()["fullname"],
    ) == ("dee@example.org", "Dee")
    shown = get(world, "dev", "/settings?done=address")
    assert 'value="dee@example.org"' in shown.text and "are saved" in shown.text
    cleared = post(world, "dev", "/settings", {"fullname": "Dee", "email": ""})
    assert after(cleared) == "/settings" and row(world, orm.User, username="dev").email == ""

    short = post(world, "dev", "/settings/github-token", {"token": "ghp_short"})
    assert short.status_code == 422 and "20 to 255 characters" in problem(short)
    assert "ghp_short" not in short.text  # a token is never written back into a page
    assert row(world, orm.User, username="dev").github_token is None
    kept = post(world, "dev", "/settings/github-token", {"token": TOKEN})
    assert after(kept) == "/settings"
    stored = row(world, orm.User, username="dev").github_token
    assert stored is not None and TOKEN.encode() not in stored  # encrypted at rest
    page = get(world, "dev", "/settings")
    assert "A GitHub token is saved" in page.text and TOKEN not in page.text
    assert world.client("dev").get("me").json()["has_github_token"] is True
    removed = post(world, "dev", "/settings/github-token/delete")
    assert after(removed) == "/settings"
    assert row(world, orm.User, username="dev").github_token is None
    # no one signed in: the sign-in page, nothing written
    assert post(world, None, "/settings", {"email": "x@example.org"}).status_code == 401
    assert post(world, None, "/settings/github-token", {"token": TOKEN}).status_code == 401


def test_a_cookie_session_needs_the_csrf_token_on_the_work_forms(browser_server):  # noqa: F811
    server = browser_server
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        page = browser.get(f"{root(server)}login", params={"next": "/settings"})
        assert page.status_code == 200 and "Notification address" in page.text
        token = re.search(r'name="_xsrf" value="([0-9a-f]+)"', page.text).group(1)
        for forged in ({}, {"_xsrf": "0" * 64}):
            for path, data in (
                ("settings", {"email": "a@example.org"}),
                ("settings/github-token", {"token": TOKEN}),
            ):
                refused = browser.post(
                    f"{root(server)}{path}", data={**data, **forged}, follow_redirects=False
                )
                assert refused.status_code == 403 and "CSRF token" in refused.text
        alice = row(server, orm.User, username="alice")
        assert (alice.email, alice.github_token) == ("", None)
        saved = browser.post(
            f"{root(server)}settings",
            data={"email": "a@example.org", "_xsrf": token},
            follow_redirects=False,
        )
        assert saved.status_code == 303 and saved.headers["location"] == "/settings?done=address"
        assert row(server, orm.User, username="alice").email == "a@example.org"


# -- 7. workspaces --------------------------------------------------------------------------------


def test_a_workspace_is_made_archived_and_its_notifications_switched(world, tmp_path):
    make_repo(tmp_path / "repos" / "second", branch="trunk")
    new = "/uni/sample-study/workspaces/new"
    page = get(world, "dev", new)
    assert page.status_code == 200 and '<label for="repo" class="form-label">' in page.text
    assert get(world, "collab", new).status_code == 403
    assert get(world, "outsider", new).status_code == 403
    assert "workspaces/new" in get(world, "dev", "/uni/sample-study").text
    assert "workspaces/new" not in get(world, "collab", "/uni/sample-study").text
    repo = str(tmp_path / "repos" / "second")
    good = {"name": "second", "repo": repo, "branch": "trunk"}
    for data, status, said in (
        ({**good, "name": "Second Try"}, 422, "lower-case letters, digits and hyphens"),
        ({**good, "branch": "nope"}, 422, "the branch 'nope' does not exist"),
        ({**good, "repo": "ftp://example.org/x"}, 422, "is not a repository URL"),
        ({**good, "name": "sample"}, 409, "a workspace sample exists already"),
    ):
        answer = post(world, "dev", new, data)
        assert answer.status_code == status and said in problem(answer), (data, problem(answer))
        assert f'value="{html.escape(data["repo"])}"' in answer.text  # kept, to be corrected
    assert post(world, "collab", new, good).status_code == 403
    assert count(world, orm.Workspace) == 1  # nothing was written
    made = post(world, "dev", new, good)
    assert after(made) == "/uni/sample-study/second"
    second = row(world, orm.Workspace, name="second")
    assert (second.branch, second.notifications, second.archived) == ("trunk", False, False)
    assert "second" in get(world, "dev", "/uni/sample-study").text  # the project lists it

    here = "/uni/sample-study/second"
    page = get(world, "dev", here + "?done=created")
    assert 'action="/uni/sample-study/second/archive"' in page.text
    assert "The workspace is made" in page.text
    assert 'href="/uni/sample-study/second/run-jobs"' in page.text
    assert "/archive" not in get(world, "collab", here).text  # only who may manage sees it
    assert post(world, "collab", f"{here}/archive", {"archived": "true"}).status_code == 403
    odd = post(world, "dev", f"{here}/archive", {"archived": "maybe"})
    assert odd.status_code == 422 and "archived=true or archived=false" in odd.text
    assert row(world, orm.Workspace, name="second").archived is False
    assert after(post(world, "dev", f"{here}/archive", {"archived": "true"})) == here
    assert row(world, orm.Workspace, name="second").archived is True
    assert "Unarchive the workspace" in get(world, "dev", here).text
    assert after(post(world, "dev", f"{here}/notifications", {"notifications": "on"})) == here
    assert row(world, orm.Workspace, name="second").notifications is True
    assert (
        post(world, "collab", f"{here}/notifications", {"notifications": "off"}).status_code == 403
    )
    assert row(world, orm.Workspace, name="second").notifications is True
    wrong_place = post(world, "dev", "/other/sample-study/second/archive", {"archived": "false"})
    assert wrong_place.status_code == 404 and row(world, orm.Workspace, name="second").archived


# -- 9. run jobs ----------------------------------------------------------------------------------


def test_run_jobs_shows_the_plan_then_submits_it(world):
    url = "/uni/sample-study/sample/run-jobs"
    page = get(world, "dev", url)
    assert page.status_code == 200 and 'name="action" value="make_table"' in page.text
    assert '<label for="action-3">make_table</label>' in page.text and "never run" in page.text
    assert world.sha[:12] in page.text
    looker = get(world, "collab", url)
    assert looker.status_code == 200 and 'name="action"' not in looker.text
    assert "running them needs the project developer role" in looker.text
    fields = {"action": ["make_table"], "backend": "tpp", "notify": "on"}
    fields.update(sha=hidden(page, "sha"), idempotency_key=hidden(page, "idempotency_key"))
    planned = post(world, "dev", url, {**fields, "intent": "plan"})
    assert planned.status_code == 200, problem(planned)
    steps = re.findall(
        r"<li><strong>(\w+)</strong>: ([^<]*)</li>", planned.text.split('id="plan-jobs"')[1]
    )
    assert steps == [
        ("generate_dataset", "needed by derive_measures, never run"),
        ("derive_measures", "needed by make_table, never run; it waits for generate_dataset"),
        ("make_table", "requested; it waits for derive_measures"),
    ]
    assert re.search(r'value="make_table"\s+id="action-3"\s+checked', planned.text)  # it stays
    assert count(world, orm.JobRequest) == 0  # a plan writes nothing
    # invalid: nothing chosen, a backend the organisation may not use; refused: a collaborator
    none = post(world, "dev", url, {**fields, "action": [], "intent": "plan"})
    assert none.status_code == 422 and "choose at least one action" in problem(none).lower()
    world.backend("elsewhere")
    other = post(world, "dev", url, {**fields, "backend": "elsewhere", "intent": "plan"})
    assert other.status_code == 422 and "may not use the backend elsewhere" in problem(other)
    assert post(world, "collab", url, {**fields, "intent": "plan"}).status_code == 403
    planned_for = hidden(planned, "planned_for")
    assert (
        post(
            world, "collab", url, {**fields, "intent": "run", "planned_for": planned_for}
        ).status_code
        == 403
    )
    # a run whose selection is not what the plan shown was for is planned again, not run
    changed = post(
        world,
        "dev",
        url,
        {**fields, "action": ["make_plot"], "intent": "run", "planned_for": planned_for},
    )
    assert changed.status_code == 200 and "the selection changed" in problem(changed)
    assert count(world, orm.JobRequest) == 0
    ran = post(world, "dev", url, {**fields, "intent": "run", "planned_for": planned_for})
    made = after(ran).rsplit("/", 1)[1]
    again = post(world, "dev", url, {**fields, "intent": "run", "planned_for": planned_for})
    assert after(again) == f"/job-requests/{made}"  # a second click makes no second request
    request = row(world, orm.JobRequest, id=made)
    assert (request.actions, request.sha, request.notify, request.force_run_dependencies) == (
        ["make_table"],
        world.sha,
        True,
        False,
    )
    assert count(world, orm.Job) == 3
    # what is now pending is reused by the next plan, and said why
    now = get(world, "dev", url)
    assert "tpp: " in now.text and ">pending</span>" in now.text
    fields["idempotency_key"] = hidden(now, "idempotency_key")
    plot = post(world, "dev", url, {**fields, "action": ["make_plot"], "intent": "plan"})
    reused = plot.text.split('id="plan-reused"')[1]
    assert "<strong>derive_measures</strong>: already pending: new jobs wait for it" in reused
    twice = post(world, "dev", url, {**fields, "intent": "run", "planned_for": planned_for})
    assert twice.status_code == 409 and "nothing to do" in problem(twice)


def test_an_invalid_project_yaml_shows_its_problems_by_line(world, tmp_path):
    sample = tmp_path / "repos" / "sample"
    text = (sample / "project.yaml").read_text()
    text = text.replace("needs: [make_table, make_plot]", "needs: [make_tabel, make_plot]")
    (sample / "project.yaml").write_text(text)
    git(sample, "commit", "-qam", "a typo")
    page = get(world, "dev", "/uni/sample-study/sample/run-jobs")
    assert page.status_code == 200 and "project.yaml is not valid at this commit" in page.text
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "make_tabel" in t)
    listed = page.text.split('id="problems"')[1].split("</ul>")[0]
    assert f"line {line}" in listed and "did you mean `make_table`?" in html.unescape(listed)
    assert "<a href" not in listed  # a repository on this machine has no web page to link to
    assert 'name="action"' not in page.text  # nothing to choose while it is invalid


class FakeGitHub(RepoFakeGitHub):
    """GitHub's two REST endpoints the job server reads, with an invalid project.yaml."""

    SHA = "c" * 40
    YAML = b"version: '5'\nactions:\n  a:\n    run: python:v2 a.py\n    needs: [b]\n"


@pytest.fixture
def github():
    yield from serve(FakeGitHub)


def test_a_github_workspace_links_problems_to_their_lines_and_takes_a_token_once(
    world, tmp_path, github
):
    world.app.state.repos = Repositories(
        LocalGit([str(tmp_path)]),
        GitHub(f"http://127.0.0.1:{github.server_port}", "https://github.com"),
    )
    world.workspace("sample-study", "hosted", "https://github.com/org/study")
    url = "/uni/sample-study/hosted/run-jobs"
    page = get(world, "dev", url)
    assert page.status_code == 200 and "no GitHub token" in page.text
    assert '<label for="github_token"' in page.text and 'value="list"' in page.text
    listed = post(world, "dev", url, {"intent": "list", "github_token": TOKEN})
    assert listed.status_code == 200, problem(listed)
    assert TOKEN not in listed.text  # given once: used, never written back or kept
    blob = f"https://github.com/org/study/blob/{FakeGitHub.SHA}/project.yaml#L5"
    assert f'<a href="{blob}">line 5</a>' in listed.text
    assert f"https://github.com/org/study/commit/{FakeGitHub.SHA}" in listed.text
    assert row(world, orm.User, username="dev").github_token is None
    assert github.seen and all(auth in (None, f"Bearer {TOKEN}") for _, auth in github.seen)


def test_a_github_workspace_is_made_with_a_token_given_once(world, tmp_path, github):
    """Before any token is saved (the guide's step 7 comes before step 8), the new-workspace
    form takes one for this once: the repository and branch are checked with it, and it is
    neither kept nor written back into the page."""
    world.app.state.repos = Repositories(
        LocalGit([str(tmp_path)]),
        GitHub(f"http://127.0.0.1:{github.server_port}", "https://github.com"),
    )
    new = "/uni/sample-study/workspaces/new"
    page = get(world, "dev", new)
    assert '<label for="github_token" class="form-label">GitHub token for this once' in page.text
    good = {"name": "hosted", "repo": "https://github.com/org/study", "branch": "main"}
    refused = post(world, "dev", new, good)
    assert refused.status_code == 422 and "no GitHub token" in problem(refused)
    wrong = post(world, "dev", new, {**good, "branch": "nope", "github_token": TOKEN})
    assert wrong.status_code == 422 and TOKEN not in wrong.text
    assert count(world, orm.Workspace) == 1  # nothing was written
    made = post(world, "dev", new, {**good, "github_token": TOKEN})
    assert after(made) == "/uni/sample-study/hosted"
    assert row(world, orm.User, username="dev").github_token is None
    assert f"Bearer {TOKEN}" in [auth for _, auth in github.seen]


# -- the job request, the job and its log ---------------------------------------------------------


def test_the_job_request_page_cancels_and_the_job_page_shows_the_log(world):
    made = submit(world, "dev", ["generate_dataset"])
    (job,) = made["jobs"]
    url = f"/job-requests/{made['id']}"
    page = get(world, "dev", url)
    assert page.status_code == 200 and f'action="/job-requests/{made["id"]}/cancel"' in page.text
    assert "<h2>Config</h2>" in page.text and "<h2>Timings</h2>" in page.text
    assert f'href="/jobs/{job["identifier"]}"' in page.text
    assert f'src="/{LIVE}"' in page.text  # live while it runs
    assert live_config(page)["events"] == f"/api/v1/events?kind=job&job_request={made['id']}"
    assert "/cancel" not in get(world, "collab", url).text
    refused = post(world, "collab", f"{url}/cancel")
    assert refused.status_code == 403
    assert row(world, orm.Job, identifier=job["identifier"]).state == "pending"

    run = world.client(token=world.runner_token)
    (lease,) = run.post("runner/poll", json={"wait": 0}).json()
    run.post(f"runner/jobs/{lease['identifier']}/status", json={"state": "running"})
    lines = {"first_seq": 0, "lines": ["reading <data>", "rows: 1000"]}
    assert run.post(f"runner/jobs/{lease['identifier']}/logs", json=lines).status_code == 204
    job_url = f"/jobs/{job['identifier']}"
    shown = get(world, "collab", job_url)
    assert shown.status_code == 200 and 'id="log-0">reading &lt;data&gt;' in shown.text
    assert 'data-last="1"' in shown.text and f'src="/{LIVE}"' in shown.text
    assert live_config(shown)["events"] == (
        f"/api/v1/events?kind=job&kind=log&job_request={made['id']}"
    )
    assert "/cancel" not in shown.text
    later = get(world, "collab", f"{job_url}?after=0")
    assert 'id="log-0"' not in later.text and 'id="log-1">rows: 1000' in later.text
    assert get(world, "outsider", job_url).status_code == 403
    assert get(world, "dev", "/jobs/nosuchjob").status_code == 404

    cancelled = post(world, "dev", f"{url}/cancel")
    assert after(cancelled) == url and cancelled.headers["location"].endswith("done=cancelled")
    assert row(world, orm.Job, identifier=job["identifier"]).cancel_requested
    run.post(
        f"runner/jobs/{lease['identifier']}/status",
        json={"state": "cancelled", "status_message": "stopped"},
    )
    done = get(world, "dev", url + "?done=cancelled")
    assert "Cancelled:" in done.text and f'action="{url}/cancel"' not in done.text
    assert LIVE not in done.text  # finished: nothing left to follow
    again = post(world, "dev", f"{url}/cancel")
    assert again.status_code == 409 and "nothing to cancel" in again.text
    job_again = post(world, "dev", f"{job_url}/cancel")
    assert job_again.status_code == 409 and "nothing to cancel" in problem(job_again)


def test_a_job_is_cancelled_from_its_page(world):
    (job,) = submit(world, "dev", ["generate_dataset"])["jobs"]
    url = f"/jobs/{job['identifier']}"
    assert f'action="{url}/cancel"' in get(world, "dev", url).text
    assert post(world, "collab", f"{url}/cancel").status_code == 403
    assert row(world, orm.Job, identifier=job["identifier"]).state == "pending"
    assert after(post(world, "dev", f"{url}/cancel")) == url
    assert row(world, orm.Job, identifier=job["identifier"]).state == "cancelled"


# -- the event log and the workspace log ----------------------------------------------------------


def test_the_event_log_filters_six_ways_and_pages_with_the_apis_cursor(world):
    first = submit(world, "dev", ["generate_dataset"])
    second = submit(world, "dev", ["make_plot"])  # derive_measures and make_plot
    world.user("dev2")
    with world.factory() as session:
        from sqlalchemy import select

        dev2 = session.scalar(select(orm.User).where(orm.User.username == "dev2"))
        project = session.scalar(select(orm.Project))
        session.add(
            orm.ProjectMember(project_id=project.id, user_id=dev2.id, roles=["project_developer"])
        )
        session.commit()
    third = submit(world, "dev2", ["make_table"])
    ids = {j["action"]: j["identifier"] for r in (first, second, third) for j in r["jobs"]}
    page = get(world, "collab", "/event-log")
    assert page.status_code == 200 and '<label for="status" class="form-label">' in page.text
    newest_first = [
        ids[a] for a in ("make_table", "make_plot", "derive_measures", "generate_dataset")
    ]
    assert jobs_shown(page) == newest_first
    assert f'src="/{LIVE}"' in page.text
    assert live_config(page)["events"] == "/api/v1/events?kind=job"
    assert jobs_shown(get(world, "outsider", "/event-log")) == []
    cancel = world.client("dev").post(f"jobs/{ids['generate_dataset']}/cancel")
    assert cancel.status_code == 200
    for query, expected in (
        ("q=make_", ["make_table", "make_plot"]),
        ("status=cancelled", ["generate_dataset"]),
        ("user=dev2", ["make_table"]),
        (f"job_request={second['id']}", ["make_plot", "derive_measures"]),
        (
            "workspace=sample&backend=tpp&status=pending",
            ["make_table", "make_plot", "derive_measures"],
        ),
    ):
        shown = get(world, "collab", f"/event-log?{query}")
        assert jobs_shown(shown) == [ids[a] for a in expected], query
        assert "Clear the filters" in shown.text
    pages, path = [], "/event-log?workspace=sample&limit=3"
    while path:
        shown = get(world, "collab", path)
        pages.append(jobs_shown(shown))
        older = re.search(r'href="(\?[^"]*)" rel="next"', shown.text)
        path = "/event-log" + html.unescape(older.group(1)) if older else None
        assert path is None or "workspace=sample" in path  # the filters ride along
    assert pages == [newest_first[:3], newest_first[3:]]
    for query, status, said in (
        ("status=bogus", 422, "the state is one of pending"),
        ("workspace=nowhere", 404, "there is no workspace 'nowhere'"),
        ("limit=0", 422, "show from 1 to 500 jobs a page"),
        ("cursor=not-ours", 400, "the cursor is not one this server made"),
    ):
        shown = get(world, "collab", f"/event-log?{query}")
        assert shown.status_code == status and said in problem(shown), query
        assert jobs_shown(shown) == [] and LIVE not in shown.text


def test_the_workspace_log_lists_its_job_requests_a_page_at_a_time(world):
    made = [submit(world, "dev", [a])["id"] for a in ("generate_dataset", "make_plot")]
    url = "/uni/sample-study/sample/logs"
    page = get(world, "collab", url)
    assert page.status_code == 200
    assert re.findall(r'href="/job-requests/(\w+)"', page.text) == made[::-1]
    assert 'rel="next"' not in page.text
    with world.factory() as session:
        from sqlalchemy import select

        template = session.get(orm.JobRequest, made[0])
        for _ in range(50):
            session.add(
                orm.JobRequest(
                    workspace_id=template.workspace_id,
                    backend_id=template.backend_id,
                    sha=template.sha,
                    actions=["generate_dataset"],
                    project_yaml="",
                    created_by_id=template.created_by_id,
                )
            )
        session.commit()
        assert session.scalar(select(orm.JobRequest).where(orm.JobRequest.id == made[0]))
    full = get(world, "collab", url)
    older = re.search(r'href="(\?[^"]*)" rel="next"', full.text)
    assert older and len(re.findall(r'href="/job-requests/', full.text)) == 50
    rest = get(world, "collab", url + html.unescape(older.group(1)))
    assert re.findall(r'href="/job-requests/(\w+)"', rest.text) == made[::-1]
    assert get(world, "outsider", url).status_code == 403


def test_the_live_script_is_served_and_only_where_live_matters(world):
    script = world.client().get(root(world) + LIVE)
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]
    assert "new EventSource(" in script.text
    for path in ("/settings", "/uni/sample-study/sample/run-jobs", "/uni/sample-study/sample/logs"):
        assert LIVE not in get(world, "dev", path).text, path
