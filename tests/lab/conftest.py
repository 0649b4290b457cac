"""A real JupyterLab with the Jobs panel, the real job server and runner, and Chromium.

`lab` starts `jupyter lab` as a subprocess on 127.0.0.1 under a hub-like base URL,
rooted in a git checkout of the sample workspace, with the environment the hub's
pre-spawn hook gives a workspace server (JUPYTER_EXT_JOBSERVER_URL, _WORKSPACE,
_TOKEN). `page` is Chromium (Debian's, never `playwright install`) driven by
Playwright's sync API. Screenshots go to a folder of the test session's tmp dir
and are copied to tests/lab/artifacts/ (gitignored) for a human to look at.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer, git
from ..runner.test_local_runner import RunnerThread

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).parent / "artifacts"
BASE_URL = "/user/dev/sample/"  # as the hub routes a named server


@pytest.fixture(autouse=True)
def jp_asyncio_loop():
    """pytest-jupyter closes the current loop after each test; Playwright's sync API runs it."""
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup():
    """No in-process Jupyter server here (JupyterLab runs as a subprocess): nothing to clean."""
    yield


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    if call.when == "call":
        item.failed_call = outcome.get_result().failed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab_tmp(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("lab")


def serving_world(lab_tmp: Path, **runner_options) -> Iterator:
    """The job server with the sample workspace, output checkers and a publisher, and a runner
    (`runner_options` go to its agent: its site's `release_rules`, say)."""
    world = build_world(JobServer(f"sqlite:///{lab_tmp / 'js.sqlite'}", lab_tmp), lab_tmp)
    for name, roles in (
        ("checker1", ["output_checker"]),
        ("checker2", ["output_checker"]),
        ("publisher", ["output_publisher"]),
    ):
        world.user(name, roles)
    runner = RunnerThread(world, lab_tmp / "site", **runner_options).__enter__()
    try:
        yield world
    finally:
        # stopped from a thread of its own: Playwright's sync API may hold this thread's loop
        stopping = threading.Thread(target=runner.__exit__, args=(None, None, None))
        stopping.start()
        stopping.join(30)
        world.close()


@pytest.fixture(scope="module")
def world(lab_tmp):
    yield from serving_world(lab_tmp)


@pytest.fixture(scope="module")
def checkout(lab_tmp, world) -> Path:
    """The workspace's checkout, as the hub clones it: on its branch, tracking the repository."""
    root = lab_tmp / "checkout"
    git(lab_tmp, "clone", "-q", "-b", "main", str(lab_tmp / "repos" / "sample"), str(root))
    return root


class Lab:
    def __init__(self, url: str, token: str, process: subprocess.Popen, log: Path) -> None:
        self.url, self.token, self.process, self.log = url, token, process, log

    def page_url(self, path: str = "lab") -> str:
        return f"{self.url}{path}?token={self.token}"


@contextmanager
def running_lab(lab_tmp: Path, world, checkout: Path, user: str = "dev") -> Iterator[Lab]:
    """`jupyter lab` as `user`'s server of the workspace (their token given to the server
    extension, as the hub's pre-spawn hook does), until the block ends."""
    port, token = free_port(), secrets.token_hex(16)
    home = lab_tmp / f"home-{user}"
    (home / "config").mkdir(parents=True)
    config = home / "config" / "jupyter_server_config.py"
    config.write_text(
        "c.LabApp.news_url = None\n"  # no announcements fetched from outside, no toast
        "c.LabApp.check_for_updates_class = 'jupyterlab.NeverCheckForUpdate'\n"
        "c.LabApp.expose_app_in_browser = True\n"  # window.jupyterapp: the theme is switched
    )
    # JupyterLab's own settings for this user: no question about news in the screenshots
    notification = home / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text('{"fetchNews": "false"}')
    env = {
        **os.environ,
        "HOME": str(home),
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"),
        "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
        "JUPYTER_EXT_JOBSERVER_URL": world.base_url.removesuffix("api/v1/"),
        "JUPYTER_EXT_WORKSPACE": "sample",
        "JUPYTER_EXT_TOKEN": world.tokens[user],
    }
    env.pop("JUPYTERHUB_API_TOKEN", None)
    log = lab_tmp / f"jupyter-lab-{user}.log"
    base_url = BASE_URL.replace("/dev/", f"/{user}/")
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--ServerApp.base_url={base_url}",
        f"--ServerApp.root_dir={checkout}",
        f"--IdentityProvider.token={token}",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}{base_url}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}api/status", params={"token": token}).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"jupyter lab did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    try:
        yield Lab(url, token, process, log)
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def lab(lab_tmp, world, checkout):
    with running_lab(lab_tmp, world, checkout) as lab:
        yield lab


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/install-system.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def shots(lab_tmp):
    """save(page, name): a screenshot in the tmp dir, copied to tests/lab/artifacts/."""
    folder = lab_tmp / "screenshots"
    folder.mkdir()
    ARTIFACTS.mkdir(exist_ok=True)

    def save(page, name: str) -> Path:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path))
        shutil.copy(path, ARTIFACTS / path.name)
        return ARTIFACTS / path.name

    save.folder = folder
    return save


@pytest.fixture
def page(browser, shots, request):
    """A fresh browser context; on failure, a screenshot of where it stopped and the lab's log."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    try:
        yield page
        if getattr(request.node, "failed_call", False):
            print(f"screenshot: {shots(page, f'failed-{request.node.name}')}")
            if "lab" in request.fixturenames:
                print(request.getfixturevalue("lab").log.read_text()[-4000:])
    finally:
        context.close()
