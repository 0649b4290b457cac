"""`jupyter ext demo`, as a newcomer runs it: up, usable, reusable, and gone after Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
import time
from contextlib import closing
from pathlib import Path

import httpx

from jupyter_ext.cli.hubstack import BIN, free_port

from ..jobserver.test_jobserver_cli import environment
from ..runner.test_recovery import processes_running


def start_demo(folder: Path, port: int) -> subprocess.Popen:
    return subprocess.Popen(
        [str(BIN / "jupyter-ext"), "demo", "--port", str(port), "--dir", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment(),
        start_new_session=True,
    )


def wait_for_url(demo: subprocess.Popen, timeout: float = 120) -> str:
    deadline = time.monotonic() + timeout
    seen = []
    while time.monotonic() < deadline:
        line = demo.stdout.readline()
        seen.append(line)
        if line.startswith("jupyter-ext demo: http"):
            return line.split(": ", 1)[1].strip()
        if not line and demo.poll() is not None:
            break
    raise AssertionError("the demo did not start:\n" + "".join(seen))


def sign_in(url: str, login: str) -> httpx.Client:
    browser = httpx.Client(base_url=url, follow_redirects=True, timeout=60)
    browser.get("hub/login")
    xsrf = browser.cookies.get("_xsrf", path="/hub/")
    browser.post("hub/login", data={"username": login, "password": "any", "_xsrf": xsrf})
    return browser


def stop_demo(demo: subprocess.Popen) -> None:
    demo.send_signal(signal.SIGINT)  # Ctrl-C
    demo.wait(60)
    demo.stdout.close()


def test_the_demo_comes_up_runs_an_action_and_leaves_nothing_behind(tmp_path):
    folder, port = tmp_path / "demo", free_port()
    demo = start_demo(folder, port)
    try:
        url = wait_for_url(demo)
        assert url == f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 180  # the demo's first results: run, reviewed, released
        while not (folder / "release.seeded").exists() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert (folder / "release.seeded").exists(), (folder / "hub.log").read_text()[-2000:]
        with closing(sign_in(url, "analyst")) as analyst:
            home = analyst.get("hub/home")
            assert home.url.path == "/hub/home" and 'data-server-name="demo-study"' in home.text
            scopes = {"scopes": ["access:services!service=jobserver"]}
            xsrf = {"X-XSRFToken": analyst.cookies.get("_xsrf", path="/hub/")}
            made = analyst.post("hub/api/users/analyst/tokens", json=scopes, headers=xsrf)
            token = made.json()["token"]
            api = httpx.Client(
                base_url=f"{url}services/jobserver/api/v1/",
                timeout=30,
                headers={"Authorization": f"Bearer {token}"},
            )
            with api:
                body = {"workspace": "demo-study", "backend": "demo", "actions": ["make_table"]}
                request = api.post("job-requests", json=body).json()
                deadline = time.monotonic() + 120
                while (state := api.get(f"job-requests/{request['id']}").json()["state"]) not in (
                    "succeeded",
                    "failed",
                ) and time.monotonic() < deadline:
                    time.sleep(0.3)
        assert state == "succeeded"
    finally:
        stop_demo(demo)
    assert demo.returncode == 0
    assert not processes_running(str(folder)), "a process of the demo outlived Ctrl-C"

    again = start_demo(folder, port)  # the second run reuses the folder and its data
    try:
        with closing(sign_in(wait_for_url(again), "checker")) as checker:
            assert 'data-server-name="demo-study"' in checker.get("hub/home").text
    finally:
        stop_demo(again)
    assert not processes_running(str(folder))


def test_the_demo_refuses_to_listen_beyond_loopback(tmp_path):
    done = subprocess.run(
        [str(BIN / "jupyter-ext"), "demo", "--ip", "0.0.0.0", "--dir", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        env=environment(),
        timeout=60,
    )
    assert done.returncode == 1 and "loopback only" in done.stderr
    assert not (tmp_path / "d").exists()
