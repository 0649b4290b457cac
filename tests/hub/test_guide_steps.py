"""The user guide's ten steps, DONE in Chromium through the job server's pages under the hub.

`test_pages_walk.py` visits every page; this test does the guide's steps with the pages'
forms, clicking and typing as a person would, as the guide's people: an applicant and
researcher (bob), an administrator (carol, a core_developer), a project coordinator (dora),
two output checkers (oscar, olga) and an output publisher (pat). Their global roles come
from the API (no step of the guide is about them); everything else is done in the pages:

 1. everyone signs in with (the fake) GitHub on the hub's login page;
 2. bob applies for a project with the multi-step form, carol approves it (the project
    is made);
 3. carol adds a backend (its runner token, shown once, starts this test's runner) and an
    organisation, its members and the backend it may use;
 4. carol adds a project to the organisation on its page (`/{org}`);
 5. carol adds dora (coordinator) and bob (collaborator) to it; dora makes bob a developer
    on the project's settings page;
 6. dora renames the project on its settings page;
 7. bob makes a workspace (the harness's repository on the fake GitHub, at main: the job
    server checks both, with a token given once) and turns its notifications off;
 8. bob saves his GitHub token (and a notification address) on his settings page;
 9. bob picks an action on run-jobs, sees the plan, runs it, and the job request page
    follows the jobs to their end live (no reload);
10. bob asks for the table's release (through the API: no page asks for a release),
    oscar and olga approve it on the release page, pat publishes it, and bob opens the
    released table in the page's viewer.

Every page the test lands on must be in the hub's frame with the person's name and have no
serious or critical axe-core violation; each step leaves tests/lab/artifacts/guide-NN-<step>.png.
One hub, one runner: the runner is the one of the backend carol makes in step 3.
"""

from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path

import pytest

from ..lab.axe import describe, serious_violations
from ..lab.conftest import ARTIFACTS, browser, jp_asyncio_loop, jp_server_cleanup  # noqa: F401
from ..runner.test_local_runner import RunnerThread
from .harness import ORG, REPO, HubWorld, cli

pytestmark = pytest.mark.slow

TIMEOUT = 30_000  # ms: a page, or what a page waits for
JOBS_TIMEOUT = 120_000  # ms: the jobs of step 9, on the runner
TABLE = "output/table_by_region.csv"
ROLES = {"oscar": ["output_checker"], "olga": ["output_checker"], "pat": ["output_publisher"]}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("guide")
    world = HubWorld(folder)
    try:
        for login in ("dora", *ROLES):
            world.github.add_user(login, orgs=[ORG])
        admin = world.jobserver(world.admin_token)
        for username, roles in ROLES.items():  # global roles: not a step of the guide
            made = admin.post("users", json={"username": username, "roles": roles})
            assert made.status_code == 201, made.text
        yield world
    finally:
        world.close()


class _Runner:
    """The runner of the backend made in step 3, started with the token its page showed
    once, until the test ends (stopped from a thread of its own: Playwright's sync API
    holds this thread's event loop)."""

    def __init__(self, world: HubWorld, token: str, site: Path) -> None:
        self.base_url = world.stack.jobserver_url + "api/v1/"
        self.runner_token = token
        self.thread = RunnerThread(self, site).__enter__()

    def stop(self) -> None:
        stopping = threading.Thread(target=self.thread.__exit__, args=(None, None, None))
        stopping.start()
        stopping.join(30)


class Guide:
    """The people at their browsers, the pages they land on checked, the steps photographed."""

    def __init__(self, world: HubWorld, browser, folder: Path) -> None:  # noqa: F811
        self.world, self.browser, self.folder = world, browser, folder
        self.root = f"{world.stack.url}services/jobserver/"
        self.pages: dict[str, object] = {}
        self.shots: list[str] = []
        ARTIFACTS.mkdir(exist_ok=True)
        for earlier in ARTIFACTS.glob("guide-*.png"):  # only this run's, numbered in order
            earlier.unlink()

    def sign_in(self, login: str):
        """`login` at the hub's login page: Sign in with GitHub (the fake one), then the
        job server's home page, through its own sign-in (the hub's OAuth)."""
        context = self.browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(f"{self.world.stack.url}hub/login", timeout=TIMEOUT)
        self.world.github.next_login = login  # who is signed in at GitHub
        page.get_by_role("button", name=re.compile("Sign in with GitHub")).click()
        page.wait_for_url("**/hub/home", timeout=TIMEOUT)
        self.pages[login] = page
        page.login = login
        self.open(page, "")
        assert page.locator("h1").inner_text() == "Your jobs"
        return page

    def check(self, page, response=None, refused: bool = False) -> None:
        """The page now shown: answered, one of ours in the hub's frame naming who is signed
        in, no problem said (or, if `refused`, one said), no serious axe-core violation, no
        script error."""
        where = f"{page.login} at {page.url}"
        if response is not None and not refused:
            assert response.status < 400, f"{where}: {response.status}\n{self._main(page)}"
        assert page.url.startswith(self.root), where
        problem = page.locator("#problem")
        if refused:
            assert response is not None and response.status == 422, where
            assert problem.count(), f"{where}: no problem said\n{self._main(page)}"
        else:
            assert not problem.count(), f"{where}: {problem.inner_text()}"
        assert page.locator("nav.navbar #jupyterhub-logo").count(), f"{where}: no hub frame"
        assert page.login in page.locator("#login_widget").inner_text(), where
        if found := serious_violations(page):
            raise AssertionError(f"{where}: axe-core:\n{describe(found)}")
        assert not page.errors, f"{where}: script errors {page.errors}"

    @staticmethod
    def _main(page) -> str:
        main = page.locator("main")
        return main.inner_text()[:2000] if main.count() else page.content()[:2000]

    def open(self, page, path: str):
        response = page.goto(self.root + path, timeout=TIMEOUT)
        self.check(page, response)
        return page

    def submit(self, page, button, refused: bool = False) -> None:
        """Click a form's button, as a person does; the page it leads to is checked."""
        with page.expect_navigation(timeout=TIMEOUT) as navigation:
            button.click()
        self.check(page, navigation.value, refused)

    def follow(self, page, link) -> None:
        self.submit(page, link)

    def shot(self, page, step: int, name: str) -> None:
        label = f"guide-{step:02d}-{name}.png"
        path = self.folder / label
        page.screenshot(path=str(path), full_page=True)
        shutil.copy(path, ARTIFACTS / label)
        self.shots.append(label)

    def close(self) -> None:
        for page in self.pages.values():
            page.context.close()


def reload_until(guide: Guide, page, selector: str, what: str, timeout: float = 60) -> None:
    """A page that is not live, reloaded (and checked) until `selector` is in it, as a person
    reloads while waiting for something the runner does."""
    deadline = time.monotonic() + timeout
    while not page.locator(selector).count():
        assert time.monotonic() < deadline, f"{page.login} at {page.url}: never {what}"
        page.wait_for_timeout(300)  # a person's pause between reloads, not an assertion
        guide.check(page, page.reload(timeout=TIMEOUT))


def test_the_guide_in_ten_steps_as_four_people(world, browser, tmp_path):  # noqa: F811
    guide = Guide(world, browser, tmp_path)
    runner = None
    try:
        runner = _walk(guide, world, tmp_path)
    finally:
        if runner is not None:
            runner.stop()
        guide.close()
        print("\n".join(["", "screenshots:", *guide.shots]))


def _walk(guide: Guide, world: HubWorld, folder: Path):
    field = lambda page, label: page.get_by_label(label, exact=True)  # noqa: E731
    button = lambda page, name: page.get_by_role("button", name=name, exact=True)  # noqa: E731

    # 1. sign in with GitHub: the hub's login, then the job server's pages
    bob = guide.sign_in("bob")
    carol = guide.sign_in("carol")
    dora = guide.sign_in("dora")
    oscar = guide.sign_in("oscar")
    guide.shot(bob, 1, "sign-in")

    # 2. bob applies for a project, step by step; carol approves it and the project is made
    guide.follow(bob, bob.get_by_role("link", name="Applications", exact=True))
    guide.follow(bob, bob.get_by_role("link", name="Apply for a new project"))
    field(bob, "Study name").fill("Heart failure outcomes")
    field(bob, "Organisation").select_option("uni")
    guide.submit(bob, button(bob, "Next"))
    field(bob, "Purpose").fill("Outcomes after a first admission for heart failure.")
    field(bob, "Data").fill("Admissions and deaths, by month and region.")
    guide.submit(bob, button(bob, "Next"))
    field(bob, "tpp").check()
    guide.submit(bob, button(bob, "Next"))
    field(bob, "People to add (optional)").fill("alice")
    guide.submit(bob, button(bob, "Next"))
    assert "Heart failure outcomes" in bob.locator("#summary").inner_text()
    guide.submit(bob, button(bob, "Send application"))
    assert "Your application is sent" in bob.locator("#notice").inner_text()
    application = bob.url.split("/applications/")[1].split("?")[0]

    guide.follow(carol, carol.get_by_role("link", name="Applications", exact=True))
    guide.follow(carol, carol.locator(f'a[href$="applications/{application}"]'))
    field(carol, "Reason").fill("Fits the programme; tpp has the admissions.")
    guide.submit(carol, button(carol, "Approve and make the project"))
    assert "the project is made" in carol.locator("#notice").inner_text()
    made = carol.locator("main a", has_text="heart-failure-outcomes")
    assert made.count(), guide._main(carol)
    guide.shot(carol, 2, "application-approved")

    # 3. carol adds a backend (its runner token shown once starts the runner) and an
    #    organisation with its members and that backend
    guide.follow(carol, carol.get_by_role("link", name="Backends", exact=True))
    field(carol, "Short name").fill("lab")
    field(carol, "Name").fill("Lab site")
    guide.submit(carol, button(carol, "Add the backend"))
    guide.submit(carol, button(carol, "New runner token for lab"))
    token = carol.locator("#token").input_value()
    assert len(token) > 20
    runner = _Runner(world, token, folder / "site")
    guide.follow(carol, carol.get_by_role("link", name="Back to the backends"))
    reload_until(guide, carol, '#backends tr:has-text("lab") .text-bg-success', "saw lab online")
    guide.shot(carol, 3, "backend-online")

    guide.follow(carol, carol.get_by_role("link", name="Organisations", exact=True))
    field(carol, "Short name").fill("research")
    field(carol, "Name").fill("Research unit")
    guide.submit(carol, button(carol, "Add the organisation"))
    for login in ("bob", "dora"):
        field(carol, "GitHub login").fill(login)
        guide.submit(carol, button(carol, "Add the member"))
        assert login in carol.locator("#org-members").inner_text()
    field(carol, "Backend").select_option("lab")
    guide.submit(carol, button(carol, "Allow it"))
    assert "lab" in carol.locator("#org-backends").inner_text()
    guide.shot(carol, 3, "organisation")

    # 4. carol adds a project on the organisation's page
    guide.follow(carol, carol.get_by_role("link", name="Its projects, and adding one"))
    field(carol, "Name").fill("Cohort study")
    guide.submit(carol, button(carol, "Add the project"))
    assert carol.url.startswith(guide.root + "research/cohort-study/settings"), carol.url
    guide.open(carol, "research")
    assert "Cohort study" in carol.locator("#projects").inner_text()
    guide.shot(carol, 4, "org-project")

    # 5. carol adds dora as coordinator and bob as collaborator; dora makes bob a developer
    guide.follow(carol, carol.locator("#projects").get_by_role("link", name="Cohort study"))
    assert carol.locator("h1").inner_text() == "Cohort study"
    guide.open(carol, "research/cohort-study/settings")
    for login, role in (("dora", "project coordinator"), ("bob", "project collaborator")):
        field(carol, "GitHub login").fill(login)
        roles = carol.get_by_role("group", name="Roles in the project")
        roles.get_by_label("project developer", exact=True).uncheck()
        roles.get_by_label(role, exact=True).check()
        guide.submit(carol, button(carol, "Add the member"))
        assert "The member is added" in carol.locator("#notice").inner_text()

    guide.open(dora, "research/cohort-study/settings")
    bobs = dora.get_by_role("group", name="Roles of bob")
    bobs.get_by_label("project developer", exact=True).check()
    guide.submit(dora, button(dora, "Save the roles of bob"))
    assert "The member's roles are saved" in dora.locator("#notice").inner_text()
    roles_of_bob = dora.get_by_role("group", name="Roles of bob")
    assert roles_of_bob.get_by_label("project developer", exact=True).is_checked()
    assert roles_of_bob.get_by_label("project collaborator", exact=True).is_checked()
    guide.shot(dora, 5, "member-roles")

    # 6. dora renames the project in its settings; its address stays
    field(dora, "Name").fill("Cohort study 2024")
    guide.submit(dora, button(dora, "Save"))
    assert "settings are saved" in dora.locator("#notice").inner_text()
    assert dora.locator("h1").inner_text() == "Settings of Cohort study 2024"
    guide.shot(dora, 6, "project-settings")

    # 7. bob makes a workspace from his home page (repository and branch checked), then
    #    turns its notifications off
    guide.open(bob, "")
    add = bob.locator("#add-workspace").get_by_role("link", name="to Cohort study 2024")
    guide.follow(bob, add)
    field(bob, "Name").fill("cohort")
    field(bob, "Repository URL").fill(world.github.html_url(REPO))
    field(bob, "Branch").fill("no-such-branch")
    _token_once(bob, world)
    guide.submit(bob, button(bob, "Create the workspace"), refused=True)
    assert "no-such-branch" in bob.locator("#problem").inner_text()  # the branch is checked
    field(bob, "Branch").fill("main")
    _token_once(bob, world)
    guide.submit(bob, button(bob, "Create the workspace"))
    assert bob.url.startswith(guide.root + "research/cohort-study/cohort"), bob.url
    assert "The workspace is made" in bob.locator("#done").inner_text()
    guide.submit(bob, button(bob, "Turn notifications off"))
    assert "Notifications are off" in bob.locator("#done").inner_text()
    assert button(bob, "Turn notifications on").count()
    guide.shot(bob, 7, "workspace")

    # 8. bob saves his GitHub token and a notification address in his settings
    guide.follow(bob, bob.get_by_role("link", name="Settings", exact=True))
    field(bob, "Notification address").fill("bob@example.org")
    guide.submit(bob, button(bob, "Save"))
    bob.get_by_role("textbox", name="GitHub token", exact=True).fill(world.gh_tokens["bob"])
    guide.submit(bob, button(bob, "Save the token"))
    assert "Your GitHub token is saved" in bob.locator("#done").inner_text()
    assert world.gh_tokens["bob"] not in bob.content()  # never shown
    guide.shot(bob, 8, "github-token")

    # 9. bob runs make_table: the plan first (what runs and why), then the jobs, followed live
    guide.open(bob, "research/cohort-study/cohort")
    guide.follow(bob, bob.get_by_role("link", name="Run jobs", exact=True))
    field(bob, "make_table").check()
    assert bob.get_by_label("lab", exact=True).is_checked()  # the one backend: a job request
    guide.submit(bob, button(bob, "Show the plan"))
    plan = bob.locator("#plan-jobs").inner_text()
    for action in ("generate_dataset", "derive_measures", "make_table"):
        assert action in plan, plan
    guide.submit(bob, button(bob, "Run these jobs"))
    assert "/job-requests/" in bob.url, bob.url
    bob.evaluate("() => { window.guideNoReload = true; }")  # gone if the page reloaded
    state = bob.locator("[data-job-request-state]")
    state.get_by_text("succeeded").wait_for(timeout=JOBS_TIMEOUT)
    assert bob.evaluate("() => window.guideNoReload === true"), "the page reloaded"
    assert bob.locator("#jobs [data-field=state]").all_inner_texts() == ["succeeded"] * 3
    guide.check(bob)
    guide.shot(bob, 9, "jobs-finished-live")

    # 10. bob asks for the table's release (the API: no page asks for one); oscar and olga
    #     approve it on the release page, pat publishes it, bob opens the released table
    release = _ask_for_release(world, bob.url.rsplit("/", 1)[1])
    here = f"research/cohort-study/cohort/releases/{release['id']}"
    file_id = release["files"][0]["id"]
    guide.open(bob, "research/cohort-study/cohort")
    guide.follow(bob, bob.get_by_role("link", name="Releases", exact=True))
    guide.follow(bob, bob.get_by_role("link", name=release["id"]))
    for checker in (oscar, guide.sign_in("olga")):
        guide.open(checker, here)
        vote = checker.get_by_role("group", name=f"Your vote on {TABLE}")
        vote.get_by_label("Approve", exact=True).check()
        vote.get_by_label("Comment", exact=True).fill("Rounded to 5, nothing below 7: fine.")
        guide.submit(checker, button(checker, "Send vote"))
        assert "Your vote is recorded" in checker.locator("#done").inner_text()
    guide.open(oscar, here)  # both votes in: each checker now sees the other's
    assert "approved" in oscar.locator(f"#file-{file_id}").inner_text()
    assert "olga: approve" in oscar.locator(f"#file-{file_id}").inner_text()
    guide.shot(oscar, 10, "release-approved")

    pat = guide.sign_in("pat")
    guide.open(pat, here)
    guide.submit(pat, button(pat, "Publish the approved files"))
    assert "Published" in pat.locator("#done").inner_text()

    guide.open(bob, here)  # the runner uploads the file at its next heartbeat
    reload_until(guide, bob, f'#file-{file_id} a[href$="/files/{file_id}"]', "saw it uploaded")
    guide.follow(bob, bob.locator(f"#file-{file_id}").get_by_role("link", name=TABLE))
    table = bob.locator("#released-table")
    assert "region" in table.locator("thead").inner_text()
    assert table.locator("tbody tr").count() > 0
    guide.shot(bob, 10, "released-file")
    return runner


def _token_once(page, world: HubWorld) -> None:
    """bob has saved no GitHub token yet (step 8): the new-workspace form takes one for this
    once, to check the repository and branch; it is not kept, nor written back."""
    page.get_by_label(re.compile("^GitHub token for this once")).fill(world.gh_tokens["bob"])


def _ask_for_release(world: HubWorld, job_request: str) -> dict:
    """bob asks for make_table's table with a personal API token (no page asks for a release:
    the Jobs panel, a widget or the client do, and they all POST /releases)."""
    bob = world.jobserver(
        cli(world.folder, world.env, "admin", "token", "bob", "--db-url", world.db)
    )
    done = bob.get(f"job-requests/{job_request}").json()
    job = next(j["identifier"] for j in done["jobs"] if j["action"] == "make_table")
    group = {
        "context": "Admission rates by region, 2024",
        "disclosure_control": "Counts rounded to 5; below 7 suppressed.",
        "files": [{"job": job, "path": TABLE}],
    }
    made = bob.post(
        "releases", json={"workspace": "cohort", "backend": "lab", "groups": {"rates": group}}
    )
    assert made.status_code == 201, made.text
    return made.json()
