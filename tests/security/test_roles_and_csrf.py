"""Attacks on who may change roles, as a caller of the real job server (uvicorn, 127.0.0.1).

Two-person rule: no one changes or drops their own project roles, through the API or the
pages; another coordinator of the project or an administrator does it, audited as usual.
The pages' CSRF token belongs to one sign-in (new at each), and signing out is a POST with
it that ends the sign-in on the server: a cookie copied before then is worth nothing.
"""

from __future__ import annotations

import re

import httpx

from jupyter_ext.jobserver import orm
from tests.jobserver.conftest import db_url, server, world  # noqa: F401
from tests.jobserver.test_admin_pages import (
    browser_server,  # noqa: F401
    count,
    post,
    problem,
    roles_of,
)
from tests.jobserver.test_hubauth import hub  # noqa: F401
from tests.jobserver.test_pages import root


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
    page = world.client("coord").get(root(world) + url.lstrip("/")).text
    assert f'{url}/members/dev"' in page and f'{url}/members/coord"' not in page  # no own form
    assert "Your own roles: another coordinator or an administrator changes them." in page


# -- pages: a CSRF token per sign-in, sign-out a POST ------------------------------------------

FORM = {"slug": "hosp", "name": "Hospital"}


def sign_in(browser: httpx.Client, js, next_path: str = "/orgs") -> str:
    """Through the hub's OAuth (the fake hub signs in alice); the page's CSRF token."""
    page = browser.get(f"{root(js)}login", params={"next": next_path})
    assert page.status_code == 200, page.text[-500:]
    return re.search(r'name="_xsrf" value="([0-9a-f]+)"', page.text).group(1)


def test_the_csrf_token_is_new_at_each_sign_in_and_an_old_one_is_refused(browser_server):  # noqa: F811
    js = browser_server
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        first = sign_in(browser, js)
        earlier = browser.cookies.get("jupyter-ext-session")
        again = sign_in(browser, js)  # a new sign-in: a new session, a new token
        assert again != first
        # the attack: a token leaked from an earlier sign-in, sent with today's cookie
        stale = browser.post(
            f"{root(js)}orgs", data={**FORM, "_xsrf": first}, follow_redirects=False
        )
        assert stale.status_code == 403 and "CSRF token" in stale.text
        assert count(js, orm.Org) == 0
        made = browser.post(
            f"{root(js)}orgs", data={**FORM, "_xsrf": again}, follow_redirects=False
        )
        assert made.status_code == 303 and count(js, orm.Org) == 1
    # and the earlier sign-in ended with it: its cookie, copied, is worth nothing
    with httpx.Client(timeout=30, cookies={"jupyter-ext-session": earlier}) as thief:
        assert thief.get(f"{root(js)}api/v1/me").status_code == 401


def test_sign_out_is_a_post_with_the_token_and_ends_a_copied_cookie(browser_server):  # noqa: F811
    js = browser_server
    with httpx.Client(follow_redirects=True, timeout=30) as browser:
        token = sign_in(browser, js)
        copied = browser.cookies.get("jupyter-ext-session")
        # the frame's Logout is a form that posts the token, not a link
        page = browser.get(f"{root(js)}orgs").text
        frame = re.search(
            r'<form method="post" action="(/[^"]*)"[^>]*id="logout-form">\s*'
            r'<input type="hidden" name="_xsrf" value="([0-9a-f]+)">',
            page,
        )
        assert frame and frame.groups() == ("/logout", token), page[-3000:]
        # a GET of the address (a link, an image on another site) changes nothing
        shown = browser.get(f"{root(js)}logout")
        assert shown.status_code == 200 and 'method="post"' in shown.text
        assert browser.get(f"{root(js)}api/v1/me").status_code == 200
        # a forged POST, without the token or with another, changes nothing either
        for forged in ({}, {"_xsrf": "0" * 64}):
            refused = browser.post(f"{root(js)}logout", data=forged, follow_redirects=False)
            assert refused.status_code == 403 and "CSRF token" in refused.text
        assert browser.get(f"{root(js)}api/v1/me").status_code == 200
        out = browser.post(f"{root(js)}logout", data={"_xsrf": token}, follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"].endswith("/hub/logout")
        assert "jupyter-ext-session" not in browser.cookies
    # the attack: the cookie (and a token) copied before sign-out, used after it
    with httpx.Client(timeout=30, cookies={"jupyter-ext-session": copied}) as thief:
        assert thief.get(f"{root(js)}api/v1/me").status_code == 401
        forged = thief.post(f"{root(js)}orgs", data={**FORM, "_xsrf": token})
        assert forged.status_code in (302, 401) and count(js, orm.Org) == 0
    actions = [e["action"] for e in js.client("alice").get("audit").json()["items"]]
    assert actions[:2] == ["user.sign_out", "user.sign_in"]
