"""A released Markdown file that attacks its reader, opened in real Chromium.

The job server under uvicorn serves the file's page; the file carries script tags, an
`onerror` image, a `javascript:` link, an image and a link that would call a canary server
on 127.0.0.1, and a form. Shown, its heading and table are rendered, nothing in it runs
(the page's title and a global stay as they were, no dialog opens), the canary hears
nothing, and the frame it is in is sandboxed with no permission and a policy that loads
nothing.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer
from ..jobserver.test_pages_chain import released_chain
from ..lab.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.slow


class Canary(BaseHTTPRequestHandler):
    heard: list[str] = []

    def do_GET(self):
        Canary.heard.append(self.path)
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def canary():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Canary)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    Canary.heard = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def attack(canary: str) -> bytes:
    return f"""# Results

| Region | Count |
| --- | ---: |
| north | 35 |

<script>window.top.pwned = 1; document.title = "pwned"</script>
<img src="{canary}/img-tag" onerror="window.top.pwned = 2">
![beacon]({canary}/markdown-image)
[click me](javascript:window.top.pwned=3)
<form action="{canary}/form"><button>Send</button></form>
<iframe src="{canary}/frame"></iframe>
[a link out]({canary}/link)
""".encode()


def test_a_hostile_markdown_file_runs_nothing_and_calls_no_one(tmp_path, canary):
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/install-system.sh)")
    from playwright.sync_api import sync_playwright

    server = JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path)
    try:
        world = build_world(server, tmp_path)
        released_chain(world, attack(canary))  # a job writes it, checkers pass it, released
        url = (
            world.base_url.removesuffix("api/v1/")
            + f"{world.here.lstrip('/')}/files/{world.files['output/report.md']}"
        )
        headers = {"Authorization": f"Bearer {world.tokens['collab']}"}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(
                    extra_http_headers=headers, viewport={"width": 1200, "height": 900}
                )
                page = context.new_page()
                dialogs: list[str] = []
                page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
                assert page.goto(url).status == 200
                frame_element = page.locator("iframe#released-markdown")
                assert frame_element.get_attribute("sandbox") == ""  # no permission at all
                frame = page.frame_locator("iframe#released-markdown")
                frame.locator("h1", has_text="Results").wait_for()
                assert frame.locator("td", has_text="35").count() == 1
                frame.locator("text=click me").click()  # text, not a link
                page.wait_for_load_state("networkidle")  # what would load has had its chance
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "released-markdown.png"), full_page=True)
                assert page.evaluate("() => window.pwned") is None
                assert "pwned" not in page.title()
                assert dialogs == []
            finally:
                browser.close()
    finally:
        server.close()
    assert Canary.heard == [], Canary.heard
