"""The job server's pages under the real hub, in Chromium, as the people of the user guide.

A real JupyterHub, proxy and job server (GitHub faked on 127.0.0.1), and a runner. Each
person signs in through the fake GitHub in their own browser context, then opens the job
server's pages under `/services/jobserver/`: the first page sends them through the job
server's own sign-in (`/services/jobserver/login`, the hub's OAuth, the encrypted cookie)
and back. Every page must show the hub's frame (its navigation bar with the person's name
and a Logout of both the job server and the hub) and have no serious or critical axe-core
violation; each step leaves a screenshot in tests/lab/artifacts/pages-NN-<step>.png.

The people: an applicant who is in no project (bob), an administrator (carol, a
core_developer), a project coordinator (dora) and an output checker (oscar). The data:
alice, a developer of the project, ran make_table and make_plot with the real runner; the
table was approved by two checkers, published and uploaded; the plot waits for review.

The administrator walks every page of `PAGES` whose address this test can fill in, so
pages that land later are walked without a change here; a page the permission table
refuses them (a core_developer in no project) must be a refusal page, in the frame.
"""

from __future__ import annotations

import re
import shutil
import time

import pytest

from jupyter_ext.jobserver.pages import PAGES, load_pages
from jupyter_ext.jobserver.permissions import granted

from ..lab.axe import describe, serious_violations
from ..lab.conftest import ARTIFACTS, browser, jp_asyncio_loop, jp_server_cleanup  # noqa: F401
from ..runner.test_local_runner import RunnerThread, wait_for
from .harness import ORG, HubWorld, _AsUser, _RunnerWorld, cli

pytestmark = pytest.mark.slow

TIMEOUT = 30_000
LOGOUT = "/services/jobserver/logout"  # a POST: ends the job server's sign-in, then the hub's
TABLE, PLOT = "output/table_by_region.csv", "output/plot_rates.svg"
load_pages()  # as mount() does, in its order: every page in PAGES, `/{org}/...` last


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pages")
    world = HubWorld(folder)
    try:
        seed(world, folder)
        yield world
    finally:
        world.close()


def token_of(world: HubWorld, username: str) -> str:
    return cli(world.folder, world.env, "admin", "token", username, "--db-url", world.db)


def seed(world: HubWorld, folder) -> None:
    """The coordinator and the checkers; bob's application; alice's job request, a released
    table and a plot waiting for review."""
    admin = world.jobserver(world.admin_token)
    for login in ("dora", "oscar"):
        world.github.add_user(login, orgs=[ORG])
    roles_of = {
        "dora": [],
        "oscar": ["output_checker"],
        "olga": ["output_checker"],
        "pat": ["output_publisher"],
    }
    for username, roles in roles_of.items():
        made = admin.post("users", json={"username": username, "roles": roles})
        assert made.status_code == 201, made.text
    member = {"username": "dora", "roles": ["project_coordinator"]}
    assert admin.post("projects/study/members", json=member).status_code == 201

    bob = world.jobserver(token_of(world, "bob"))  # applies for a project of his own
    applied = bob.post(
        "applications",
        json={
            "study_name": "Heart failure outcomes",
            "org": "uni",
            "backends": ["tpp"],
            "purpose": "Outcomes after a first admission",
            "data": "Admissions, by month",
        },
    )
    assert applied.status_code == 201, applied.text
    world.application = applied.json()["id"]

    alice = world.jobserver(token_of(world, "alice"))
    kept = alice.put("me/github-token", json={"token": world.gh_tokens["alice"]})
    assert kept.status_code == 204, kept.text
    with RunnerThread(_RunnerWorld(world), folder / "site"):
        body = {"workspace": "study", "backend": "tpp", "actions": ["make_table", "make_plot"]}
        made = alice.post("job-requests", json=body)
        assert made.status_code == 201, made.text
        done = wait_for(_AsUser(alice), made.json()["id"], timeout=120)
        assert done["state"] == "succeeded", done
        world.job_request = done["id"]
        job_of = {j["action"]: j["identifier"] for j in done["jobs"]}
        world.job = job_of["make_table"]

        def ask(action: str, path: str) -> dict:
            group = {
                "context": "counts by region, 2024",
                "disclosure_control": "rounded to 5",
                "files": [{"job": job_of[action], "path": path}],
            }
            made = alice.post(
                "releases",
                json={"workspace": "study", "backend": "tpp", "groups": {"outputs": group}},
            )
            assert made.status_code == 201, made.text
            return made.json()

        table = ask("make_table", TABLE)
        fid = table["files"][0]["id"]
        for checker in ("oscar", "olga"):
            vote = world.jobserver(token_of(world, checker)).post(
                f"releases/{table['id']}/files/{fid}/reviews", json={"decision": "approve"}
            )
            assert vote.status_code == 201, vote.text
        published = world.jobserver(token_of(world, "pat")).post(f"releases/{table['id']}/publish")
        assert published.status_code == 200, published.text
        deadline = time.monotonic() + 60  # the runner uploads it at its next heartbeat
        while not alice.get(f"releases/{table['id']}").json()["files"][0]["uploaded"]:
            assert time.monotonic() < deadline, "the runner never uploaded the table"
            time.sleep(0.2)
        world.released, world.released_file = table["id"], fid
        world.in_review = ask("make_plot", PLOT)["id"]
    # a study run (at one site here) left pending: its page is walked while it is live
    run = {"workspace": "study", "backends": ["tpp"], "actions": ["make_table"]}
    made = alice.post("runs", json=run)
    assert made.status_code == 201, made.text
    world.run = made.json()["id"]


# -- the walk -------------------------------------------------------------------------------


class Walk:
    """Numbered steps of every person: a page opened, checked, and photographed."""

    def __init__(self, world: HubWorld, folder) -> None:
        self.world, self.folder, self.n = world, folder, 0
        self.root = f"{world.stack.url}services/jobserver/"
        self.problems: list[str] = []
        self.walked: list[str] = []
        ARTIFACTS.mkdir(exist_ok=True)
        for earlier in ARTIFACTS.glob("pages-*.png"):  # only this walk's, numbered in order
            earlier.unlink()

    def sign_in(self, browser, login: str):  # noqa: F811 (the fixture, passed on)
        """`login` signed in to the hub through the fake GitHub, in a browser of their own."""
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        self.world.github.next_login = login
        page.goto(f"{self.world.stack.url}hub/oauth_login?next=/hub/home", timeout=TIMEOUT)
        assert page.url.endswith("/hub/home"), page.url
        return page

    def step(
        self, page, login: str, name: str, path: str, status: int = 200, text: str | None = None
    ) -> None:
        self.n += 1
        label = f"pages-{self.n:02d}-{name}"
        response = page.goto(self.root + path, timeout=TIMEOUT)
        page.wait_for_load_state("load")
        shot = self.folder / f"{label}.png"
        page.screenshot(path=str(shot), full_page=True)
        shutil.copy(shot, ARTIFACTS / shot.name)
        self.walked.append(f"{label}: /services/jobserver/{path}")
        where = f"{label} ({login} at /services/jobserver/{path})"
        if response is None or response.status != status:
            got = response.status if response else "no answer"
            self.problems.append(f"{where}: answered {got}, not {status}: {page.url}")
            return
        if not page.url.startswith(self.root + path.split("?")[0]):
            self.problems.append(f"{where}: ended at {page.url}")
        # the hub's frame: its logo and navigation, the person, Logout through the hub
        frame = page.locator("nav.navbar")
        if not (frame.locator("#jupyterhub-logo").count() and page.locator("main").count()):
            self.problems.append(f"{where}: no hub frame (navbar, logo, main)")
        widget = page.locator("#login_widget")
        if not widget.count() or login not in widget.inner_text():
            self.problems.append(f"{where}: the frame does not name {login}")
        # Logout is a button posting the sign-in's CSRF token: a link could be forged
        form = page.locator("form#logout-form")
        posts = form.count() and (form.get_attribute("action"), form.get_attribute("method"))
        has_token = form.count() and form.locator("input[name=_xsrf]").get_attribute("value")
        if posts != (LOGOUT, "post") or not has_token or not form.locator("#logout").count():
            self.problems.append(f"{where}: no Logout of the job server and the hub")
        if text and text not in page.locator("main").inner_text():
            self.problems.append(f"{where}: no {text!r} in the page")
        if found := serious_violations(page):
            self.problems.append(f"{where}: axe-core:\n{describe(found)}")
        if page.errors:
            self.problems.append(f"{where}: script errors {page.errors}")
            page.errors.clear()


def fill(pattern: str, world: HubWorld) -> str | None:
    """A page's address with this world's values, or None if a part is unknown here."""
    values = {
        "org": "uni",
        "project": "study",
        "workspace": "study",
        "job_request_id": world.job_request,
        "release_id": world.released,
        "file_id": world.released_file,
        "identifier": world.job,
        "username": "alice",
        "application_id": world.application,
        "backend": "tpp",
        "slug": "tpp",
        "run_id": world.run,
    }
    try:
        return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], pattern).lstrip("/")
    except KeyError:
        return None


def test_every_person_walks_the_pages_under_the_hub(world, browser, tmp_path):  # noqa: F811
    walk = Walk(world, tmp_path)
    released = f"uni/study/study/releases/{world.released}"
    has = PAGES.__contains__

    # the applicant: in no project; a project's page says why not, in the same frame
    page = walk.sign_in(browser, "bob")
    walk.step(page, "bob", "applicant-home", "", text="workspace")
    if has("/applications/new"):
        walk.step(page, "bob", "applicant-new-application", "applications/new")
    if has("/applications"):
        walk.step(page, "bob", "applicant-applications", "applications")
    if has("/applications/{application_id}"):
        walk.step(page, "bob", "applicant-application", f"applications/{world.application}")
    if has("/backends"):
        walk.step(page, "bob", "applicant-backends", "backends")
    walk.step(page, "bob", "applicant-refused", "uni/study", status=403, text="coordinator")
    page.context.close()

    # the coordinator: the project, its settings, its workspace and released results
    page = walk.sign_in(browser, "dora")
    walk.step(page, "dora", "coordinator-project", "uni/study", text="dora")
    if has("/{org}/{project}/settings"):
        walk.step(page, "dora", "coordinator-project-settings", "uni/study/settings")
    walk.step(page, "dora", "coordinator-workspace", "uni/study/study", text=world.job_request)
    walk.step(page, "dora", "coordinator-release", released, text=TABLE)
    page.context.close()

    # the output checker: the plot waiting for review, the released table, the job request
    page = walk.sign_in(browser, "oscar")
    walk.step(page, "oscar", "checker-home", "")
    walk.step(
        page,
        "oscar",
        "checker-release-in-review",
        f"uni/study/study/releases/{world.in_review}",
        text=PLOT,
    )
    walk.step(
        page,
        "oscar",
        "checker-released-file",
        f"{released}/files/{world.released_file}",
        text="region",
    )
    chain = f"{released}/files/{world.released_file}/provenance"
    walk.step(page, "oscar", "checker-released-file-provenance", chain, text="The code")
    walk.step(
        page, "oscar", "checker-job-request", f"job-requests/{world.job_request}", text="make_table"
    )
    if has("/event-log"):
        walk.step(page, "oscar", "checker-event-log", "event-log")
    page.context.close()

    # the administrator: every page there is; those the permission table refuses a
    # core_developer who is in no project (a release's files) say so, in the frame
    page = walk.sign_in(browser, "carol")
    unwalked = []
    for pattern in sorted(PAGES, key=lambda p: (p.count("/"), p)):
        path = fill(pattern, world)
        if path is None:
            unwalked.append(pattern)
            continue
        name = "admin-" + (re.sub(r"[^a-z0-9]+", "-", pattern.lower()).strip("-") or "home")
        permission, _scope = PAGES[pattern]  # not a member: only global roles count
        walk.step(
            page, "carol", name, path, 200 if granted(["core_developer"], permission) else 403
        )
    page.context.close()

    print("\n".join(["", *walk.walked, f"not walked (no value for a part): {unwalked}"]))
    assert not walk.problems, "\n".join(walk.problems)


def test_a_link_signs_in_through_the_hub_and_logout_signs_out_of_both(world, browser):  # noqa: F811
    """Someone signed in nowhere follows a link to a page: the hub's login, GitHub, the hub's
    OAuth for the job server, and they land on that page. A GET of the logout address only
    shows a button; Logout in the frame (a POST) signs them out of the job server and the hub:
    the same link asks them to sign in again."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        root = f"{world.stack.url}services/jobserver/"
        link = f"{root}uni/study/study?from=mail"
        page.goto(link, timeout=TIMEOUT)
        assert "/hub/login" in page.url  # the hub asks who this is
        world.github.next_login = "dora"
        page.get_by_role("button", name=re.compile("Sign in with GitHub")).click()
        page.wait_for_url(link, timeout=TIMEOUT)
        assert "dora" in page.locator("#login_widget").inner_text()
        assert page.locator("h1").inner_text() == "study"
        cookies = {c["name"]: c for c in context.cookies()}
        session = cookies["jupyter-ext-session"]
        assert session["httpOnly"] and session["path"] == "/services/jobserver/"

        page.goto(f"{root}logout", timeout=TIMEOUT)  # a GET only shows the button
        assert page.locator("h1").inner_text() == "Sign out"
        assert "jupyter-ext-session" in {c["name"] for c in context.cookies()}
        page.locator("#logout").click()  # the frame's button: a POST with the CSRF token
        page.wait_for_url("**/hub/login**", timeout=TIMEOUT)
        assert "jupyter-ext-session" not in {c["name"] for c in context.cookies()}
        page.goto(link, timeout=TIMEOUT)
        assert "/hub/login" in page.url, page.url  # signed out of both
    finally:
        context.close()
