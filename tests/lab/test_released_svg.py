"""A released SVG or HTML file with a script, opened in Chromium: the script never runs.

The real job server serves the released files; Chromium opens each one at its own address,
and in an <img> and an <iframe> of a page of the same origin. A script that ran would set
the title to "pwned" and fetch /x; neither happens. A control, the same SVG from the same
origin without the job server's headers, shows that a script that can run is seen running.
"""

from __future__ import annotations

import pytest

from jupyter_ext.jobserver.serving import FILE_POLICY

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer
from ..jobserver.mocking import MockJobServerApp
from ..jobserver.test_release_zip import released

pytestmark = pytest.mark.slow

SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" onload="document.title=\'pwned\'">'
    b"<script>document.title='pwned';fetch('/x')</script></svg>"
)
HTML = (
    b"<!doctype html><html><head><title>released</title></head><body><p>a table</p>"
    b"<script>document.title='pwned';fetch('/x')</script>"
    b"<img src=broken.png onerror=\"document.title='pwned';fetch('/x')\"></body></html>"
)
TIMEOUT = 15_000


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The job server on 127.0.0.1 with a release of the SVG and the HTML file, uploaded."""
    tmp = tmp_path_factory.mktemp("released-svg")
    server = JobServer(
        f"sqlite:///{tmp / 'js.sqlite'}", tmp, MockJobServerApp(release_dir=str(tmp / "releases"))
    )
    world = build_world(server, tmp)
    try:
        release = released(world, {"output/plot.svg": SVG, "output/report.html": HTML})
        world.root = world.base_url.removesuffix("api/v1/")
        world.file_urls = {
            f["path"]: f"{world.root}api/v2/releases/file/{f['id']}" for f in release["files"]
        }
        yield world
    finally:
        world.close()


@pytest.fixture
def context(browser, files):
    """A browser context speaking as a project collaborator; every request it makes is kept."""
    context = browser.new_context(
        extra_http_headers={"Authorization": f"Bearer {files.tokens['collab']}"}
    )
    context.requested = []
    context.on("request", lambda request: context.requested.append(request.url))
    # /x answers 204 here: a script that ran would be seen asking for it
    context.route(f"{files.root}x", lambda route: route.fulfill(status=204))
    try:
        yield context
    finally:
        context.close()


def ran(context) -> bool:
    return any(url.rstrip("/").endswith("/x") for url in context.requested)


def settle(page) -> None:
    page.wait_for_load_state("load", timeout=TIMEOUT)
    page.wait_for_timeout(500)  # time for an onload or a fetch, were any to run


@pytest.mark.parametrize("path", ["output/plot.svg", "output/report.html"])
def test_a_released_file_opened_at_its_address_runs_no_script(files, context, path):
    page = context.new_page()
    response = page.goto(files.file_urls[path], timeout=TIMEOUT)
    settle(page)
    assert response.status == 200
    assert response.headers["content-security-policy"] == FILE_POLICY
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.body() == (SVG if path.endswith(".svg") else HTML)
    assert page.title() != "pwned"
    assert not ran(context), context.requested


def test_released_files_embedded_in_a_page_of_the_same_origin_run_no_script(files, context):
    """The page is the job server's origin (answered by the browser's route, so the job server
    serves nothing new): an <img> of the SVG, <iframe>s of the SVG and of the HTML file."""
    page_url = f"{files.root}embedding-page.html"
    svg, html = files.file_urls["output/plot.svg"], files.file_urls["output/report.html"]
    body = (
        f"<!doctype html><title>host</title><img id=img src='{svg}'>"
        f"<iframe id=svg src='{svg}'></iframe><iframe id=html src='{html}'></iframe>"
    )
    context.route(page_url, lambda route: route.fulfill(body=body, content_type="text/html"))
    page = context.new_page()
    seen = {}
    page.on("response", lambda r: seen.setdefault(r.url, r.headers))
    page.goto(page_url, timeout=TIMEOUT)
    settle(page)
    assert page.evaluate("document.getElementById('img').complete")
    assert page.title() == "host"
    for url in (svg, html):
        assert seen[url]["content-security-policy"] == FILE_POLICY
        assert seen[url]["x-content-type-options"] == "nosniff"
    for frame in page.frames[1:]:
        assert frame.url in (svg, html)
    assert len(page.frames) == 3
    assert not ran(context), context.requested


def test_the_control_the_same_svg_without_the_headers_runs_its_script(files, context):
    """Without the job server's headers the same bytes do run: the checks above can see it."""
    control = f"{files.root}control.svg"
    context.route(control, lambda route: route.fulfill(body=SVG, content_type="image/svg+xml"))
    page = context.new_page()
    page.goto(control, timeout=TIMEOUT)
    page.wait_for_function("document.title === 'pwned'", timeout=TIMEOUT)
    deadline = 50
    while not ran(context) and deadline:
        page.wait_for_timeout(100)
        deadline -= 1
    assert ran(context)
