"""The checkers' desk page, `/checking` (issue 23): the backlog oldest first with its ages,
states, what waits and who holds it, linked to each release's page; the checker's votes; the
30-day median; a link in the navigation bar for checkers only. In Chromium, axe-core finds no
serious or critical violation on it.
"""

from __future__ import annotations

import pytest

from jupyter_ext.jobserver import orm

from ..lab.axe import describe, serious_violations
from ..lab.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from .conftest import build_world
from .harness import JobServer
from .test_checking_desk import DAY, HOUR, asked_at, decided_at, requested, site_checker, vote
from .test_pages import get, root
from .test_review import reviewers  # noqa: F401 (a fixture)

NAV = 'href="/checking">Output checking</a>'


def busy_desk(world):
    """Three releases waiting (one tied), one decided in the last 30 days, votes by checker1."""
    now = orm.utcnow()
    old, tied, fresh, done = (requested(world, files=n) for n in (2, 1, 1, 1))
    asked_at(world, old, now - 3 * DAY)
    asked_at(world, tied, now - 5 * HOUR)
    vote(world, "checker1", old, 0, "approve")
    vote(world, "checker1", tied, 0, "approve")
    vote(world, "checker2", tied, 0, "request_changes")
    vote(world, "checker1", done, 0, "approve")
    vote(world, "checker2", done, 0, "approve")
    asked_at(world, done, now - 2 * DAY)
    decided_at(world, done["files"][0]["id"], now - 2 * DAY + 6 * HOUR)
    return old, tied, fresh, done


def test_the_page_shows_the_backlog_the_votes_and_the_median(reviewers):  # noqa: F811
    world = reviewers
    old, tied, fresh, done = busy_desk(world)
    page = get(world, "checker3", "/checking")
    assert page.status_code == 200 and NAV in page.text
    backlog = page.text.split('id="backlog-table"')[1].split("</table>")[0]
    rows = [backlog.index(f'id="queued-{r["id"]}"') for r in (old, tied, fresh)]
    assert rows == sorted(rows) and done["id"] not in backlog  # oldest first; decided: gone
    assert f'href="/uni/sample-study/sample/releases/{old["id"]}"' in backlog
    assert ">3 days</span>" in backlog and ">5 h</span>" in backlog
    assert '<span class="jx-state jx-state-in_review badge">in review</span>' in backlog
    assert "(a tie: your vote decides)" in backlog and "checker1, checker2" in backlog
    assert "approve" not in backlog and "request changes" not in backlog  # names, not votes
    median = page.text.split('id="median-everywhere">')[1].split("</dd>")[0]
    assert "<strong>6 h</strong> over 1 file" in median
    assert 'id="votes-none"' in page.text

    mine = get(world, "checker1", "/checking").text
    votes = mine.split('id="votes-table"')[1].split("</table>")[0]
    assert votes.count("<tr id=") == 3 and 'jx-state-approved badge">approve</span>' in votes
    assert f"release {done['id']}" in votes
    assert "nothing: you voted on its open files" in mine


def test_the_record_form_downloads_the_decisions_of_the_last_30_days(reviewers):  # noqa: F811
    world = reviewers
    old, tied, fresh, done = busy_desk(world)
    desk = get(world, "checker1", "/checking").text
    form = desk.split('id="record-form"')[0]
    action = form.rsplit('action="', 1)[1].split('"')[0]
    assert action == "/checking/record"  # a page: a browser's cookie signs it in
    fields = desk.split('id="record-form"')[1]
    since = fields.split('name="from" value="')[1].split('"')[0]
    until = fields.split('name="to" value="')[1].split('"')[0]
    found = get(world, "checker1", f"{action}?from={since}&to={until}&project=&format=csv")
    assert found.status_code == 200 and found.headers["content-type"].startswith("text/csv")
    assert all(r["id"] in found.text for r in (old, tied, fresh, done))
    assert "attachment" in found.headers["content-disposition"]


def test_administrators_read_the_record_from_its_page_and_no_one_else(reviewers):  # noqa: F811
    world = reviewers
    asked = requested(world)
    page = get(world, "admin", "/checking/record")
    assert page.status_code == 200 and 'id="record-form"' in page.text
    assert 'href="/checking/record">Release record</a>' in page.text  # admins: in the bar
    found = get(world, "admin", "/checking/record?format=json")
    assert found.status_code == 200 and asked["id"] in found.text
    events = world.client("admin").get("audit", params={"action": "release.export"}).json()
    assert any(e["actor"] == "admin" for e in events["items"])
    for who in ("dev", "publisher"):
        refused = get(world, who, "/checking/record")
        assert refused.status_code == 403 and "may not read the record" in refused.text, who
        assert get(world, who, "/checking/record?format=csv").status_code == 403


def test_older_votes_are_a_link_away(reviewers, monkeypatch):  # noqa: F811
    from jupyter_ext.jobserver.pages import desk

    world = reviewers
    monkeypatch.setattr(desk, "VOTES", 1)
    first, second = requested(world), requested(world)
    vote(world, "checker1", first, 0, "approve")
    vote(world, "checker1", second, 0, "reject")
    latest = get(world, "checker1", "/checking").text
    assert 'jx-state-rejected badge">reject</span>' in latest and 'id="older-votes"' in latest
    link = latest.split('id="older-votes"')[0].rsplit('href="', 1)[1].split('"')[0]
    older = get(world, "checker1", link).text
    assert 'jx-state-approved badge">approve</span>' in older and "Your latest votes" in older
    assert 'id="older-votes"' not in older
    assert get(world, "checker1", "/checking?before=nonsense").status_code == 200


def test_only_checkers_get_the_page_and_the_link(reviewers):  # noqa: F811
    world = reviewers
    site_checker(world, "tppchecker", "tpp")
    own = get(world, "tppchecker", "/checking")
    assert own.status_code == 200 and "of what leaves tpp" in own.text and NAV in own.text
    assert 'id="median-yours"' in own.text and 'id="backlog-none"' in own.text
    for who in ("dev", "admin", "publisher"):
        refused = get(world, who, "/checking")
        assert refused.status_code == 403 and "is for output checkers" in refused.text, who
        assert NAV not in get(world, who, "/").text
    assert NAV in get(world, "checker1", "/").text
    assert get(world, None, "/checking").status_code == 401


def test_the_desk_in_chromium_is_clean_for_axe_core(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/install-system.sh)")
    from playwright.sync_api import sync_playwright

    server = JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path)
    try:
        world = build_world(server, tmp_path)
        for name in ("checker1", "checker2", "checker3"):
            world.user(name, ["output_checker"])
        old, *_ = busy_desk(world)
        headers = {"Authorization": f"Bearer {world.tokens['checker1']}"}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(
                    extra_http_headers=headers, viewport={"width": 1280, "height": 900}
                )
                page = context.new_page()
                assert page.goto(root(world) + "checking").status == 200
                assert page.title().startswith("Output checking")
                assert page.get_by_role("heading", name="Backlog").is_visible()
                assert page.get_by_role("link", name="Output checking").count() == 1
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "checking-desk.png"), full_page=True)
                found = serious_violations(page)
                assert found == [], describe(found)
                page.get_by_role("link", name=old["id"]).click()
                page.wait_for_load_state()
                assert page.url.endswith(f"/uni/sample-study/sample/releases/{old['id']}")
            finally:
                browser.close()
    finally:
        server.close()
