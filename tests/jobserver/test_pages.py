"""The job server's pages: the hub's frame, the API's answers, the same permission table."""

from __future__ import annotations

import pytest

from jupyter_ext.jobserver.pages import PAGES
from jupyter_ext.jobserver.permissions import Permission, granted
from jupyter_ext.schema.states import PROJECT_ROLES, Role

from .test_review import ask, finished


def root(world) -> str:
    return world.base_url.removesuffix("api/v1/")


def get(world, who: str | None, path: str):
    client = world.client(who) if who else world.client()
    return client.get(root(world) + path.lstrip("/"), follow_redirects=False)


@pytest.fixture
def released(world):
    """A released table with a cell that tries to run script."""
    for name in ("checker1", "checker2"):
        world.user(name, ["output_checker"])
    world.user("publisher", ["output_publisher"])
    table = b"region,count\n<script>alert(1)</script>,35\nsouth,40\n"
    job = finished(world, {"output/table.csv": table})
    release = ask(world.client("dev"), job, "output/table.csv").json()
    fid = release["files"][0]["id"]
    for name in ("checker1", "checker2"):
        world.client(name).post(
            f"releases/{release['id']}/files/{fid}/reviews", json={"decision": "approve"}
        )
    world.client("publisher").post(f"releases/{release['id']}/publish")
    world.client(token=world.runner_token).put(f"runner/release-files/{fid}", content=table)
    world.release, world.release_file = release["id"], fid
    return world


def test_pages_show_the_hubs_frame_and_the_apis_answers(released):
    world = released
    home = get(world, "dev", "/")
    assert home.status_code == 200 and "text/html" in home.headers["content-type"]
    assert "static/hub/css/style.min.css" in home.text  # the hub's own look
    assert "Your latest job requests" in home.text and "/uni/sample-study/sample" in home.text
    assert "/uni/sample-study/workspaces/new" in home.text  # dev may add a workspace there
    assert "workspaces/new" not in get(world, "collab", "/").text
    project = get(world, "dev", "/uni/sample-study")
    assert project.status_code == 200 and "Researchers" in project.text
    workspace = get(world, "dev", "/uni/sample-study/sample")
    assert workspace.status_code == 200 and "job-requests/" in workspace.text
    base = f"/uni/sample-study/sample/releases/{world.release}"
    page = get(world, "dev", base)
    assert page.status_code == 200 and "output/table.csv" in page.text
    viewer = get(world, "collab", f"{base}/files/{world.release_file}")
    assert viewer.status_code == 200 and '<table class="table table-sm' in viewer.text
    assert "<script>alert(1)</script>" not in viewer.text  # escaped, never run
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in viewer.text
    css = world.client().get(root(world) + "static/hub/css/style.min.css")
    assert css.status_code == 200


def test_refusals_are_pages_that_say_why(released):
    world = released
    assert get(world, None, "/").status_code == 401  # no hub here: a page says how to sign in
    refused = get(world, "outsider", "/uni/sample-study")
    assert refused.status_code == 403 and "ask its coordinator for a role" in refused.text
    wrong = get(world, "dev", "/other-org/sample-study")
    assert wrong.status_code == 404
    unreleased_viewer = get(world, "outsider", f"/uni/sample-study/sample/releases/{world.release}")
    assert unreleased_viewer.status_code == 403


GLOBAL = {f"g-{r.value}".replace("_", "-"): ([r.value], []) for r in Role}
MEMBERS = {f"m-{r.value}".replace("_", "-"): ([], [r.value]) for r in PROJECT_ROLES}


def test_every_page_with_every_role(released):
    world = released
    callers = {**GLOBAL, **MEMBERS, "outsider": ([], [])}
    for name, (roles, _) in {**GLOBAL, **MEMBERS}.items():
        world.user(name, roles)
    with world.factory() as session:
        from sqlalchemy import select

        from jupyter_ext.jobserver import orm

        project = session.scalar(select(orm.Project))
        for name, (_, project_roles) in MEMBERS.items():
            user = session.scalar(select(orm.User).where(orm.User.username == name))
            session.add(
                orm.ProjectMember(project_id=project.id, user_id=user.id, roles=project_roles)
            )
        job_request = session.scalar(select(orm.JobRequest)).id
        job = session.scalar(select(orm.Job)).identifier
        session.commit()
    application = (
        world.client("dev")
        .post(
            "applications",
            json={
                "study_name": "Walk",
                "org": "uni",
                "purpose": "p",
                "data": "d",
                "backends": ["tpp"],
            },
        )
        .json()["id"]
    )
    run = {"workspace": "sample", "backends": ["tpp"], "actions": ["make_plot"]}
    run_id = world.client("dev").post("runs", json=run).json()["id"]
    release = f"/uni/sample-study/sample/releases/{world.release}"
    release_file = f"{release}/files/{world.release_file}"
    samples = {
        "/": "/",
        "/{org}": "/uni",
        "/{org}/{project}": "/uni/sample-study",
        "/{org}/{project}/{workspace}": "/uni/sample-study/sample",
        "/{org}/{project}/{workspace}/releases": "/uni/sample-study/sample/releases",
        "/{org}/{project}/{workspace}/releases/{release_id}": release,
        "/{org}/{project}/{workspace}/releases/{release_id}/files/{file_id}": release_file,
        "/job-requests/{job_request_id}": f"/job-requests/{job_request}",
        "/applications": "/applications",
        "/applications/new": "/applications/new",
        "/applications/{application_id}": f"/applications/{application}",
        "/backends": "/backends",
        "/backends/{backend}": "/backends/tpp",
        "/runs/{run_id}": f"/runs/{run_id}",
        "/orgs": "/orgs",
        "/orgs/{org}": "/orgs/uni",
        "/users": "/users",
        "/users/{username}": "/users/dev",
        "/{org}/{project}/settings": "/uni/sample-study/settings",
        "/settings": "/settings",
        "/event-log": "/event-log",
        "/dataset-access": "/dataset-access",
        "/jobs/{identifier}": f"/jobs/{job}",
        "/{org}/{project}/workspaces/new": "/uni/sample-study/workspaces/new",
        "/{org}/{project}/{workspace}/run-jobs": "/uni/sample-study/sample/run-jobs",
        "/{org}/{project}/{workspace}/logs": "/uni/sample-study/sample/logs",
        "/{org}/{project}/{workspace}/releases/{release_id}/files/{file_id}/provenance": (
            f"{release_file}/provenance"
        ),
        "/jobs/{identifier}/provenance": f"/jobs/{job}/provenance",
        "/checking": "/checking",
        "/checking/record": "/checking/record",
        "/usage": "/usage?group=backend",
    }
    assert set(samples) == set(PAGES), "pages missing from the walk"
    wrong = []
    for path, (permission, scope) in PAGES.items():
        assert get(world, None, samples[path]).status_code == 401
        for name, (roles, project_roles) in callers.items():
            status = get(world, name, samples[path]).status_code
            assert status < 500, (path, name, status)
            allowed = granted(
                roles, Permission(permission), project_roles if scope == "project" else ()
            )
            if (status not in (401, 403)) != allowed:
                wrong.append((path, name, status))
    assert not wrong, wrong


def test_names_the_pages_use_cannot_name_an_organisation_or_a_workspace(world):
    from jupyter_ext.jobserver.services.lookup import RESERVED_ORG_NAMES, RESERVED_WORKSPACE_NAMES

    fixed = {path.split("/")[1] for path in PAGES if not path.startswith("/{")} - {""}
    assert fixed <= RESERVED_ORG_NAMES, "a page's first segment is not reserved"
    deeper = {
        p.split("/")[3]
        for p in PAGES
        if p.startswith("/{org}/{project}/") and not p.split("/")[3].startswith("{")
    }
    assert deeper <= RESERVED_WORKSPACE_NAMES
    taken = world.client("admin").post("orgs", json={"slug": "backends", "name": "B"})
    assert taken.status_code == 422 and "the job server's pages use" in taken.json()["detail"]
