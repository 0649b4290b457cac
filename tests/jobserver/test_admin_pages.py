"""The administration pages (the user guide's steps 2 to 6): each form posts to the API's own
route function, answers with a redirect, refuses as a page, and writes nothing when its
input is invalid. The CSRF check runs against a real browser sign-in through the hub's OAuth."""

from __future__ import annotations

import html
import itertools
import re
from html.parser import HTMLParser

import httpx
import pytest
from sqlalchemy import func, select

from jupyter_ext.jobserver import orm
from jupyter_ext.jobserver.hubauth import HubBrowserAuth, HubUsers

from .harness import JobServer
from .test_hubauth import SCOPE, hub  # noqa: F401  (the hub's user API and OAuth, on loopback)
from .test_pages import get, root


def post(world, who: str | None, path: str, data: dict | None = None):
    client = world.client(who) if who else world.client()
    return client.post(root(world) + path.lstrip("/"), data=data or {}, follow_redirects=False)


def after(answer) -> str:
    """Where a form's redirect goes, without the page prefix and its notice."""
    assert answer.status_code == 303, (answer.status_code, answer.text[-2000:])
    return answer.headers["location"].split("?")[0]


def problem(page) -> str:
    """The sentence a re-rendered form or a refusal page says."""
    found = re.search(r'role="alert"[^>]*>(.*?)</(?:div|p)>', page.text, re.S)
    if found is None:
        return ""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).split())


def count(world, model) -> int:
    with world.factory() as session:
        return session.scalar(select(func.count()).select_from(model))


def row(world, model, **where):
    with world.factory() as session:
        return session.scalar(select(model).filter_by(**where))


def roles_of(world, project: str, username: str) -> list[str] | None:
    with world.factory() as session:
        member = session.scalar(
            select(orm.ProjectMember)
            .join(orm.Project, orm.Project.id == orm.ProjectMember.project_id)
            .join(orm.User, orm.User.id == orm.ProjectMember.user_id)
            .where(orm.Project.slug == project, orm.User.username == username)
        )
        return list(member.roles) if member else None


STUDY = {"study_name": "Heart health", "org": "uni"}
PURPOSE = {"purpose": "Study hearts", "data": "GP records, 2020"}


def test_an_application_in_steps_then_reviewed(world):
    world.user("applicant")
    world.user("reviewer", ["technical_reviewer"])
    first = get(world, "applicant", "/applications/new")
    assert first.status_code == 200 and 'aria-current="step"' in first.text
    assert '<label class="form-label" for="study_name">' in first.text
    # a step with a problem stays, says it, and keeps what was typed
    blank = post(world, "applicant", "/applications/new", {"step": "0", "org": "uni"})
    assert blank.status_code == 422 and problem(blank) == "Not done: Study name: fill it in"
    nowhere = post(world, "applicant", "/applications/new", {**STUDY, "org": "nowhere"})
    assert nowhere.status_code == 404 and "there is no organisation 'nowhere'" in problem(nowhere)
    step2 = post(world, "applicant", "/applications/new", {"step": "0", **STUDY})
    assert step2.status_code == 200 and "Step 2 of 5: Purpose and data" in step2.text
    assert '<input type="hidden" name="study_name" value="Heart health">' in step2.text
    back = post(world, "applicant", "/applications/new", {"step": "1", **STUDY, "go": "back"})
    assert "Step 1 of 5" in back.text and 'value="Heart health"' in back.text
    step3 = post(world, "applicant", "/applications/new", {"step": "1", **STUDY, **PURPOSE})
    assert "Step 3 of 5: Backends" in step3.text and 'value="tpp"' in step3.text
    none = post(world, "applicant", "/applications/new", {"step": "2", **STUDY, **PURPOSE})
    assert none.status_code == 422 and problem(none) == "Not done: Backends: choose at least 1"
    answers = {**STUDY, **PURPOSE, "backends": ["tpp"]}
    step4 = post(world, "applicant", "/applications/new", {"step": "2", **answers})
    assert "Step 4 of 5: People" in step4.text
    answers["people"] = "dev\n@collab"
    check = post(world, "applicant", "/applications/new", {"step": "3", **answers})
    assert "Step 5 of 5: Check and send" in check.text and "dev, collab" in check.text
    assert count(world, orm.Application) == 0  # nothing is written before it is sent
    sent = post(world, "applicant", "/applications/new", {"step": "4", **answers})
    application = after(sent).rsplit("/", 1)[1]
    assert row(world, orm.Application, id=application).people == ["collab", "dev"]
    mine = get(world, "applicant", "/applications")
    assert mine.status_code == 200 and f"applications/{application}" in mine.text
    assert f"applications/{application}" not in get(world, "dev", "/applications").text

    url = f"/applications/{application}"
    page = get(world, "reviewer", url)
    assert page.status_code == 200 and "Approve and make the project" in page.text
    assert "Approve and make the project" not in get(world, "applicant", url).text
    # refused: not a reviewer, or one's own application; nothing changes
    for who in ("applicant", "dev"):
        refused = post(world, who, f"{url}/review", {"decision": "approve"})
        assert refused.status_code == 403, who
    assert row(world, orm.Application, id=application).state == "submitted"
    no_reason = post(world, "reviewer", f"{url}/review", {"decision": "reject", "reason": " "})
    assert no_reason.status_code == 422 and "say why it is rejected" in problem(no_reason)
    assert row(world, orm.Application, id=application).state == "submitted"
    rejected = post(
        world, "reviewer", f"{url}/review", {"decision": "reject", "reason": "say which years"}
    )
    assert after(rejected) == f"/applications/{application}"
    shown = get(world, "applicant", url)
    assert "say which years" in shown.text and f"new?from={application}" in shown.text
    # sent again from the rejected one, changed, then approved: the project is made
    again = get(world, "applicant", f"/applications/new?from={application}")
    assert 'name="resubmit"' in again.text and 'value="Heart health"' in again.text
    resent = post(
        world,
        "applicant",
        "/applications/new",
        {"step": "4", "resubmit": application, **answers, "data": "GP records 2019-20"},
    )
    assert after(resent) == f"/applications/{application}"
    assert row(world, orm.Application, id=application).data == "GP records 2019-20"
    approved = post(world, "reviewer", f"{url}/review", {"decision": "approve"})
    assert after(approved) == f"/applications/{application}"
    assert row(world, orm.Project, slug="heart-health").name == "Heart health"
    assert roles_of(world, "heart-health", "applicant") == [
        "project_coordinator",
        "project_developer",
    ]
    assert "/uni/heart-health" in get(world, "applicant", url).text


def test_the_backends_page_and_adding_a_backend(world):
    world.client(token=world.runner_token).post(
        "runner/heartbeat", json={"version": "1.0", "executor": "local", "capacity": 3}
    )
    mine = get(world, "dev", "/backends")
    assert mine.status_code == 200 and "Your backends" in mine.text
    assert "online" in mine.text and "<td>3</td>" in mine.text and "Add a backend" not in mine.text
    assert "tpp" not in get(world, "outsider", "/backends").text.split("<tbody>")[1]
    page = get(world, "admin", "/backends")
    assert (
        "Add a backend" in page.text
        and '<label class="form-label" for="backend-slug">' in page.text
    )
    before = count(world, orm.Backend)
    bad = post(world, "admin", "/backends", {"slug": "Not A Slug", "name": "Safe site"})
    assert bad.status_code == 422
    assert problem(bad) == (
        "Not done: Short name: use lower-case letters, digits and hyphens, as in an address"
    )
    assert 'value="Safe site"' in bad.text  # what was typed stays
    twice = post(world, "admin", "/backends", {"slug": "tpp", "name": "Again"})
    assert twice.status_code == 409 and "exists already" in problem(twice)
    refused = post(world, "dev", "/backends", {"slug": "safe", "name": "Safe site"})
    assert refused.status_code == 403 and "may not manage backends" in problem(refused)
    assert count(world, orm.Backend) == before
    assert after(post(world, "admin", "/backends", {"slug": "safe", "name": "Safe site"})) == (
        "/backends"
    )
    assert row(world, orm.Backend, slug="safe").log_policy == "full"
    token = post(world, "admin", "/backends/safe/token")
    assert token.status_code == 200 and token.headers["cache-control"] == "no-store"
    shown = re.search(r'value="(jxr_[^"]+)"', token.text).group(1)
    assert world.client(token=shown).post("runner/poll", json={"wait": 0}).status_code == 200
    assert post(world, "dev", "/backends/safe/token").status_code == 403


def test_organisations_their_members_backends_and_projects(world):
    assert "Add an organisation" not in get(world, "dev", "/orgs").text
    bad = post(world, "admin", "/orgs", {"slug": "", "name": "Hospital"})
    assert bad.status_code == 422 and "Short name" in problem(bad)
    assert post(world, "dev", "/orgs", {"slug": "hosp", "name": "Hospital"}).status_code == 403
    assert count(world, orm.Org) == 1
    assert after(post(world, "admin", "/orgs", {"slug": "hosp", "name": "Hospital"})) == (
        "/orgs/hosp"
    )
    manage = get(world, "admin", "/orgs/hosp")
    assert manage.status_code == 200 and "Manage Hospital" in manage.text
    assert get(world, "dev", "/orgs/hosp").status_code == 403
    # members
    unknown = post(world, "admin", "/orgs/hosp/members", {"username": "nobody"})
    assert unknown.status_code == 404 and "there is no user 'nobody'" in problem(unknown)
    assert post(world, "dev", "/orgs/hosp/members", {"username": "dev"}).status_code == 403
    assert count(world, orm.OrgMember) == 0
    assert after(post(world, "admin", "/orgs/hosp/members", {"username": "dev"})) == "/orgs/hosp"
    assert "Remove dev" in get(world, "admin", "/orgs/hosp").text
    twice = post(world, "admin", "/orgs/hosp/members", {"username": "dev"})
    assert twice.status_code == 409 and count(world, orm.OrgMember) == 1
    assert post(world, "dev", "/orgs/hosp/members/dev/remove").status_code == 403
    assert after(post(world, "admin", "/orgs/hosp/members/dev/remove")) == "/orgs/hosp"
    assert count(world, orm.OrgMember) == 0
    # the backends it may use, and its name
    assert post(world, "dev", "/orgs/hosp/backends", {"backend": "tpp"}).status_code == 403
    assert after(post(world, "admin", "/orgs/hosp/backends", {"backend": "tpp"})) == "/orgs/hosp"
    assert "Stop Hospital using tpp" in get(world, "admin", "/orgs/hosp").text
    assert after(post(world, "admin", "/orgs/hosp/backends/tpp/remove")) == "/orgs/hosp"
    with world.factory() as session:
        assert session.scalar(select(orm.Org).filter_by(slug="hosp")).backends == []
    blank = post(world, "admin", "/orgs/hosp/name", {"name": "  "})
    assert blank.status_code == 422 and problem(blank) == "Not done: Name: fill it in"
    assert after(post(world, "admin", "/orgs/hosp/name", {"name": "City Hospital"}))
    assert row(world, orm.Org, slug="hosp").name == "City Hospital"
    # an administrator adds a project on the organisation's page
    page = get(world, "admin", "/uni")
    assert "Add a project" in page.text and 'action="/orgs/uni/projects"' in page.text
    assert "Add a project" not in get(world, "dev", "/uni").text
    before = count(world, orm.Project)
    blank = post(world, "admin", "/orgs/uni/projects", {"name": ""})
    assert blank.status_code == 422 and "Name: fill it in" in problem(blank)
    assert "<h1>Uni</h1>" in blank.text  # the organisation's page again
    taken = post(world, "admin", "/orgs/uni/projects", {"name": "Sample study"})
    assert taken.status_code == 409 and "exists already" in problem(taken)
    assert post(world, "dev", "/orgs/uni/projects", {"name": "Mine"}).status_code == 403
    assert count(world, orm.Project) == before
    made = post(world, "admin", "/orgs/uni/projects", {"name": "Lungs", "slug": "lungs-2"})
    assert after(made) == "/uni/lungs-2/settings"
    assert row(world, orm.Project, slug="lungs-2").name == "Lungs"


def test_project_settings_members_and_roles(world):
    url = "/uni/sample-study/settings"
    page = get(world, "coord", url)
    assert page.status_code == 200 and "Settings of Sample study" in page.text
    assert 'for="roles-collab-project_developer"' in page.text  # every checkbox has a label
    assert "Only an administrator adds members" in page.text  # a coordinator does not add
    for who in ("dev", "collab", "outsider"):
        assert get(world, who, url).status_code == 403, who
    assert get(world, "coord", "/other/sample-study/settings").status_code == 404
    # name and status
    blank = post(world, "coord", url, {"name": " ", "status": "paused"})
    assert blank.status_code == 422 and problem(blank) == "Not done: Name: fill it in"
    odd = post(world, "coord", url, {"name": "Renamed", "status": "sleeping"})
    assert odd.status_code == 422 and "Status" in problem(odd)
    assert post(world, "dev", url, {"name": "Mine", "status": "paused"}).status_code == 403
    assert row(world, orm.Project, slug="sample-study").name == "Sample study"
    assert after(post(world, "coord", url, {"name": "Renamed", "status": "paused"})) == url
    project = row(world, orm.Project, slug="sample-study")
    assert (project.name, project.status) == ("Renamed", "paused")
    # per-project roles: a coordinator changes and removes; nothing on invalid input
    none = post(world, "coord", f"{url}/members/collab", {})
    assert none.status_code == 422 and problem(none) == "Not done: Roles: choose at least 1"
    wrong = post(world, "coord", f"{url}/members/collab", {"roles": ["core_developer"]})
    assert wrong.status_code == 422 and "not a project role" in problem(wrong)
    assert (
        post(world, "dev", f"{url}/members/collab", {"roles": ["project_developer"]}).status_code
        == 403
    )
    assert roles_of(world, "sample-study", "collab") == ["project_collaborator"]
    two = {"roles": ["project_collaborator", "project_developer"]}
    assert after(post(world, "coord", f"{url}/members/collab", two)) == url
    assert roles_of(world, "sample-study", "collab") == two["roles"]
    assert post(world, "dev", f"{url}/members/collab/remove").status_code == 403
    assert after(post(world, "coord", f"{url}/members/collab/remove")) == url
    assert roles_of(world, "sample-study", "collab") is None
    # only administrators add members
    add = {"username": "outsider", "roles": ["project_collaborator"]}
    assert post(world, "coord", f"{url}/members", add).status_code == 403
    assert roles_of(world, "sample-study", "outsider") is None
    unknown = post(world, "admin", f"{url}/members", {**add, "username": "nobody"})
    assert unknown.status_code == 404 and "there is no user 'nobody'" in problem(unknown)
    assert "Add a member" in get(world, "admin", url).text
    assert after(post(world, "admin", f"{url}/members", add)) == url
    assert roles_of(world, "sample-study", "outsider") == ["project_collaborator"]


def test_global_roles_only_by_an_administrator(world):
    world.user("agent", ["onboarding_agent"])
    page = get(world, "admin", "/users/dev")
    assert page.status_code == 200 and "Save the global roles" in page.text
    assert "dev" in get(world, "admin", "/users?q=de").text
    assert get(world, "coord", "/users/dev").status_code == 403
    wrong = post(world, "admin", "/users/dev/roles", {"roles": ["king"]})
    assert wrong.status_code == 422 and problem(wrong).startswith("Not done: Roles")
    for who in ("coord", "agent", "dev"):
        refused = post(world, who, "/users/dev/roles", {"roles": ["core_developer"]})
        assert refused.status_code == 403, who
    assert row(world, orm.User, username="dev").roles == []
    assert after(post(world, "admin", "/users/dev/roles", {"roles": ["output_checker"]})) == (
        "/users/dev"
    )
    assert row(world, orm.User, username="dev").roles == ["output_checker"]
    assert after(post(world, "admin", "/users/dev/roles", {})) == "/users/dev"  # none
    assert row(world, orm.User, username="dev").roles == []
    # an onboarding agent sees people and adds them to projects, never sets roles
    seen = get(world, "agent", "/users/outsider")
    assert seen.status_code == 200 and "Save the global roles" not in seen.text
    add = {"project": "sample-study", "roles": ["project_developer"]}
    assert post(world, "coord", "/users/outsider/projects", add).status_code == 403
    nowhere = post(world, "agent", "/users/outsider/projects", {**add, "project": "nowhere"})
    assert nowhere.status_code == 404 and "there is no project 'nowhere'" in problem(nowhere)
    assert roles_of(world, "sample-study", "outsider") is None
    assert after(post(world, "agent", "/users/outsider/projects", add)) == "/users/outsider"
    assert roles_of(world, "sample-study", "outsider") == ["project_developer"]


def test_forms_need_a_signed_in_caller(world):
    answer = post(world, None, "/orgs", {"slug": "x", "name": "X"})
    assert answer.status_code == 401 and "Sign in" in answer.text
    assert count(world, orm.Org) == 1


@pytest.fixture
def browser_server(hub, tmp_path):  # noqa: F811
    """A job server whose browsers sign in through the hub's OAuth (as alice, an admin)."""
    from jupyterhub.services.auth import HubOAuth

    hub_url = f"http://127.0.0.1:{hub.server_port}"
    oauth = HubOAuth(
        api_url=f"{hub_url}/hub/api",
        api_token="svc",
        access_scopes={SCOPE},
        oauth_client_id="service-jobserver",
        oauth_authorization_url=f"{hub_url}/hub/api/oauth2/authorize",
    )
    users = HubUsers(oauth)
    server = JobServer(
        f"sqlite:///{tmp_path / 'js.sqlite'}",
        tmp_path,
        hub_auth=users,
        browser_auth=lambda vault: HubBrowserAuth(oauth, vault, users, "/"),
    )
    server.start()
    oauth.oauth_redirect_uri = f"{root(server)}oauth_callback"
    server.user("alice", ["core_developer"])
    yield server
    server.close()


def test_a_cookie_session_needs_the_forms_csrf_token(browser_server):
    server = browser_server
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        page = browser.get(f"{root(server)}login", params={"next": "/orgs"})
        assert page.status_code == 200 and "Add an organisation" in page.text
        token = re.search(r'name="_xsrf" value="([0-9a-f]+)"', page.text).group(1)
        form = {"slug": "hosp", "name": "Hospital"}
        for forged in ({}, {"_xsrf": "0" * 64}):
            refused = browser.post(
                f"{root(server)}orgs", data={**form, **forged}, follow_redirects=False
            )
            assert refused.status_code == 403 and "CSRF token" in refused.text
        assert count(server, orm.Org) == 0
        made = browser.post(
            f"{root(server)}orgs", data={**form, "_xsrf": token}, follow_redirects=False
        )
        assert made.status_code == 303 and made.headers["location"] == "/orgs/hosp?done=org"
        assert count(server, orm.Org) == 1


class Outline(HTMLParser):
    """The form controls, labels and headings of a page's main part."""

    def __init__(self) -> None:
        super().__init__()
        self.inside, self.controls, self.labelled, self.headings = False, [], set(), []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.inside = self.inside or attrs.get("id") == "jx-main"
        if not self.inside:
            return
        if tag in ("select", "textarea") or (
            tag == "input" and attrs.get("type") not in ("hidden", "submit")
        ):
            self.controls.append(attrs.get("id"))
        elif tag == "label":
            self.labelled.add(attrs.get("for"))
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))


def test_every_field_has_a_label_and_headings_go_in_order(world):
    walk = {"study_name": "Walk", "org": "uni", "purpose": "p", "data": "d", "backends": ["tpp"]}
    world.client("dev").post("applications", json=walk)
    application = world.client("admin").get("applications").json()["items"][0]["id"]
    pages = [
        get(world, "admin", path)
        for path in (
            "/applications",
            "/applications/new",
            f"/applications/{application}",
            "/backends",
            "/orgs",
            "/orgs/uni",
            "/uni",
            "/users",
            "/users/dev",
            "/uni/sample-study/settings",
        )
    ]
    answers = {**STUDY, **PURPOSE, "backends": ["tpp"], "people": "dev"}
    pages += [
        post(world, "dev", "/applications/new", {"step": str(s), **answers}) for s in range(4)
    ]
    pages.append(post(world, "admin", "/backends", {"slug": "Bad", "name": "x"}))  # a problem
    for page in pages:
        assert page.status_code in (200, 422), page.url
        outline = Outline()
        outline.feed(page.text)
        assert all(c and c in outline.labelled for c in outline.controls), (page.url, outline)
        assert len(outline.controls) == len(set(outline.controls)), page.url  # ids unique
        levels = outline.headings
        assert levels[0] == 1 and all(b <= a + 1 for a, b in itertools.pairwise(levels)), (
            page.url,
            levels,
        )
    assert 'maxlength="200"' in pages[1].text  # attributes given to a field are not escaped
