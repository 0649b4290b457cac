"""A released file that attacks its reader, opened in real Chromium: the scaffold.

`canary` is a server on 127.0.0.1 that hears who calls it: a file that makes the reader's
browser load anything names it. `released_page` releases the file through the real job
server (a job writes it, two checkers pass it, it is published and uploaded), opens its
page as a project collaborator and hands the page over; on leaving, it asserts that
nothing the file carried ran: no global set, no title changed, no dialog opened.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer
from ..jobserver.test_pages_chain import released_chain
from ..lab.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS


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


@contextlib.contextmanager
def released_page(tmp_path: Path, content: bytes, path: str, screenshot: str) -> Iterator:
    """The released file's page in Chromium; what it carried must not have run by the end."""
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/install-system.sh)")
    from playwright.sync_api import sync_playwright

    server = JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path)
    try:
        world = build_world(server, tmp_path)
        released_chain(world, content, path)
        url = (
            world.base_url.removesuffix("api/v1/")
            + f"{world.here.lstrip('/')}/files/{world.files[path]}"
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
                yield page
                page.wait_for_load_state("networkidle")  # what would load has had its chance
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / screenshot), full_page=True)
                assert page.evaluate("() => window.pwned") is None
                assert "pwned" not in page.title()
                assert dialogs == []
            finally:
                browser.close()
    finally:
        server.close()
