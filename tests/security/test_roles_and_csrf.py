"""Attacks on who may change roles, as a caller of the real job server (uvicorn, 127.0.0.1).

Two-person rule: no one changes or drops their own project roles, through the API or the
pages; another coordinator of the project or an administrator does it, audited as usual.
"""

from __future__ import annotations

from tests.jobserver.conftest import db_url, server, world  # noqa: F401
from tests.jobserver.test_admin_pages import post, problem, roles_of


def audited(js, action: str) -> list[dict]:
    found = js.client("admin").get("audit", params={"action": action})
    return found.json()["items"]


def test_a_coordinator_cannot_change_or_drop_their_own_project_roles(world):  # noqa: F811
    world.user("coord2")
    added = world.client("admin").post(
        "projects/sample-study/members",
        json={"username": "coord2", "roles": ["project_coordinator"]},
    )
    assert added.status_code == 201, added.text
    coord = world.client("coord")
    before = len(audited(world, "project.member.roles"))
    # the attack: a coordinator makes themselves a developer (runs jobs, sees unreleased outputs)
    grab = coord.patch(
        "projects/sample-study/members/coord",
        json={"roles": ["project_coordinator", "project_developer"]},
    )
    assert grab.status_code == 403
    assert grab.json()["detail"] == (
        "coord may not change their own roles in the project sample-study: another "
        "coordinator of the project or an administrator must"
    )
    assert roles_of(world, "sample-study", "coord") == ["project_coordinator"]
    leave = coord.delete("projects/sample-study/members/coord")
    assert leave.status_code == 403 and "their own roles" in leave.json()["detail"]
    assert roles_of(world, "sample-study", "coord") == ["project_coordinator"]
    assert len(audited(world, "project.member.roles")) == before  # nothing written
    # an administrator cannot either: a second person is the point
    admin_self = world.client("admin").post(
        "projects/sample-study/members", json={"username": "admin", "roles": ["project_developer"]}
    )
    assert admin_self.status_code == 201
    refused = world.client("admin").patch(
        "projects/sample-study/members/admin", json={"roles": ["project_coordinator"]}
    )
    assert refused.status_code == 403
    # another coordinator does it, audited with who did it
    done = world.client("coord2").patch(
        "projects/sample-study/members/coord",
        json={"roles": ["project_coordinator", "project_developer"]},
    )
    assert done.status_code == 200, done.text
    (last, *_) = audited(world, "project.member.roles")
    assert last["actor"] == "coord2" and last["after"]["username"] == "coord"
    assert world.client("admin").delete("projects/sample-study/members/coord2").status_code == 204


def test_the_settings_page_refuses_ones_own_roles_with_the_sentence(world):  # noqa: F811
    url = "/uni/sample-study/settings"
    grab = post(world, "coord", f"{url}/members/coord", {"roles": ["project_developer"]})
    assert grab.status_code == 403, grab.text[-500:]
    assert "may not change their own roles in the project sample-study" in problem(grab)
    assert roles_of(world, "sample-study", "coord") == ["project_coordinator"]
    leave = post(world, "coord", f"{url}/members/coord/remove")
    assert leave.status_code == 403 and "their own roles" in problem(leave)
    assert roles_of(world, "sample-study", "coord") == ["project_coordinator"]
