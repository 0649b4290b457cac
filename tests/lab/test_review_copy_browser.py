"""A checker opens the file they are asked to vote on from the release page, in Chromium.

The real job server holds a release under review whose table and SVG (with a script) its
site has sent for review. The checker's release page links each name; a click shows the
table in the page; the SVG, in the page's <img> and at its own address, runs no script
(the review copy is served as released files are: CSP sandbox, nosniff). The author's
release page has no such link, and the copy's address answers them 403.
"""

from __future__ import annotations

import pytest

from jupyter_ext.jobserver.serving import FILE_POLICY

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer
from ..jobserver.mocking import MockJobServerApp
from ..jobserver.test_review import ask, finished
from .test_released_svg import SVG, TIMEOUT, ran, settle

pytestmark = pytest.mark.slow
TABLE = b"region,count\nnorth,35\n<b>south</b>,40\n"


@pytest.fixture(scope="module")
def under_review(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("review-copy")
    server = JobServer(
        f"sqlite:///{tmp / 'js.sqlite'}", tmp, MockJobServerApp(release_dir=str(tmp / "releases"))
    )
    world = build_world(server, tmp)
    try:
        world.user("checker1", ["output_checker"])
        files = {"output/table.csv": TABLE, "output/plot.svg": SVG}
        job = finished(world, files)
        release = ask(world.client("dev"), job, *files).json()
        runner = world.client(token=world.runner_token)
        for f in release["files"]:
            sent = runner.put(f"runner/review-files/{f['id']}", content=files[f["path"]])
            assert sent.status_code == 204, sent.text
        world.root = world.base_url.removesuffix("api/v1/")
        world.release = release
        world.page = f"{world.root}uni/sample-study/sample/releases/{release['id']}"
        yield world
    finally:
        world.close()


def context_of(browser, world, who: str):
    context = browser.new_context(
        extra_http_headers={"Authorization": f"Bearer {world.tokens[who]}"}
    )
    context.requested = []
    context.on("request", lambda request: context.requested.append(request.url))
    context.route(f"{world.root}x", lambda route: route.fulfill(status=204))
    return context


def test_the_checker_opens_the_file_from_the_release_page(browser, under_review):
    world = under_review
    context = context_of(browser, world, "checker1")
    try:
        page = context.new_page()
        page.goto(world.page, timeout=TIMEOUT)
        page.get_by_role("link", name="output/table.csv").click()
        page.wait_for_selector("#under-review", timeout=TIMEOUT)
        cells = page.locator("#released-table td").all_inner_texts()
        assert cells == ["north", "35", "<b>south</b>", "40"]  # escaped, shown as text
        page.screenshot(path="tests/lab/artifacts/review-copy-table.png", full_page=True)
        page.go_back()
        page.get_by_role("link", name="output/plot.svg").click()
        page.wait_for_selector("main img, img.img-fluid", state="attached", timeout=TIMEOUT)
        settle(page)
        assert page.title() != "pwned" and not ran(context)
        (svg,) = [f for f in world.release["files"] if f["path"] == "output/plot.svg"]
        address = f"{world.base_url}releases/{world.release['id']}/files/{svg['id']}/review-copy"
        answer = page.goto(address, timeout=TIMEOUT)
        assert answer.headers["content-security-policy"] == FILE_POLICY
        settle(page)
        assert page.title() != "pwned" and not ran(context)
    finally:
        context.close()
    views = world.client("admin").get("audit", params={"action": "release_file.review_view"})
    assert {v["after"]["via"] for v in views.json()["items"]} == {"page", "api"}


def test_the_author_has_no_link_and_no_copy(browser, under_review):
    world = under_review
    context = context_of(browser, world, "dev")
    try:
        page = context.new_page()
        page.goto(world.page, timeout=TIMEOUT)
        assert page.get_by_role("link", name="output/table.csv").count() == 0
        fid = world.release["files"][0]["id"]
        address = f"{world.base_url}releases/{world.release['id']}/files/{fid}/review-copy"
        assert page.goto(address, timeout=TIMEOUT).status == 403
    finally:
        context.close()
