"""A hostile caller sends bodies over the limit: 413 before anyone is authenticated.

The real job server under uvicorn, with small limits so the tests stay light. Every kind
of route (JSON, a form, a runner's report, an upload) is tried without a token, with a
`Content-Length` over its limit and with a chunked body that has no length, and a body
that never ends. The server's memory under 200 MB bodies is measured by
`tests/benchmarks/bench_security.py`; here only what the server answers is asserted.
"""

from __future__ import annotations

import socket
import threading
from types import SimpleNamespace
from urllib.parse import urlparse

import httpx
import pytest

from jupyter_ext.jobserver.body_limits import kind_of

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer
from ..jobserver.mocking import MockJobServerApp

KIB = 1024
LIMITS = SimpleNamespace(json=64 * KIB, runner_report=256 * KIB, upload=1024 * KIB)
TRAITS = {  # the job server's traits of those limits
    "max_json_body": LIMITS.json,
    "max_runner_report_body": LIMITS.runner_report,
    "max_upload_body": LIMITS.upload,
}
FILE = "01" + "A" * 24  # a release file id: none exists, and no one is asked
ROUTES = {  # (method, path under /api/v1/ or the pages) -> the kind of limit it has
    ("POST", "job-requests"): "json",
    ("POST", "me/tokens"): "json",
    ("POST", "runner/poll"): "json",
    ("GET", "jobs"): "json",  # a body where none is expected is bounded too
    ("POST", "no/such/route"): "json",
    ("POST", "/orgs"): "json",  # a page's form
    ("POST", "runner/jobs/abc/logs"): "runner_report",
    ("POST", "runner/jobs/abc/outputs"): "runner_report",
    ("POST", "runner/datasets"): "runner_report",
    ("PUT", f"runner/release-files/{FILE}"): "upload",
    ("PUT", "runner/datasets/d/versions/1/dummy/a.csv"): "upload",
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("limits")
    server = JobServer(f"sqlite:///{tmp / 'js.sqlite'}", tmp, MockJobServerApp(**TRAITS))
    yield build_world(server, tmp)
    server.close()


def url(world, path: str) -> str:
    return world.base_url.removesuffix("api/v1/") + path[1:] if path[0] == "/" else path


def chunks(total: int, size: int = 16 * KIB):
    for _ in range(total // size):
        yield b"x" * size


def assert_refused(response: httpx.Response, kind: str) -> None:
    assert response.status_code == 413, (response.status_code, response.text[:200])
    assert response.headers["content-type"] == "application/problem+json"
    detail = response.json()["detail"]
    shown = {"json": "64 KiB", "runner_report": "256 KiB", "upload": "1 MiB"}[kind]
    assert f"at most {shown}: send less" in detail and "JobServerApp.max_" in detail


def test_every_route_is_classified_by_its_method_and_path_alone():
    for (method, path), kind in ROUTES.items():
        full = path if path.startswith("/") else f"/api/v1/{path}"
        assert kind_of(method, "/prefix" + full, "/prefix") == kind, (method, path)
    assert kind_of("GET", "/api/v1/runner/release-files/x", "") == "json"  # only its PUT uploads


@pytest.mark.parametrize("route", ROUTES, ids=lambda r: f"{r[0]} {r[1]}")
def test_over_the_limit_with_a_length_unauthenticated(world, route):
    method, path = route
    kind = ROUTES[route]
    body = b"{" + b" " * getattr(LIMITS, kind)  # one byte over
    anonymous = httpx.Client(base_url=world.base_url, timeout=30)
    with anonymous:
        assert_refused(anonymous.request(method, url(world, path), content=body), kind)


READ_WHOLE = [r for r, kind in ROUTES.items() if kind != "upload"]
UPLOADS = [r for r, kind in ROUTES.items() if kind == "upload"]


@pytest.mark.parametrize("route", READ_WHOLE, ids=lambda r: f"{r[0]} {r[1]}")
def test_over_the_limit_chunked_unauthenticated(world, route):
    """JSON and report bodies are read whole before any route: each answers 413 alike."""
    method, path = route
    kind = ROUTES[route]
    body = chunks(getattr(LIMITS, kind) + 64 * KIB)  # no Content-Length: counted as it comes
    with httpx.Client(base_url=world.base_url, timeout=30) as anonymous:
        assert_refused(anonymous.request(method, url(world, path), content=body), kind)


@pytest.mark.parametrize("route", UPLOADS, ids=lambda r: f"{r[0]} {r[1]}")
def test_an_upload_without_a_token_is_answered_unread_and_hung_up(world, route):
    """An upload streams: without a token it is refused before a byte is read, and the
    connection ends, so nothing of the body is drained."""
    method, path = route
    with httpx.Client(base_url=world.base_url, timeout=30) as anonymous:
        answer = anonymous.request(method, path, content=chunks(256 * KIB))
    assert answer.status_code == 401 and answer.headers["connection"] == "close"


def test_an_upload_over_its_limit_is_cut_while_it_streams(tmp_path):
    """A published file bigger than the upload limit (the operator set it too low): the
    runner's chunked PUT is refused at the limit, and nothing is kept."""
    from ..jobserver.test_release_upload_resume import published_file

    settings = MockJobServerApp(**TRAITS, release_dir=str(tmp_path / "releases"))
    server = build_world(
        JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path, settings), tmp_path
    )
    try:
        content = b"a,b\n" + b"1,2\n" * (LIMITS.upload // 2)
        file_id = published_file(server, content)
        runner = server.client(token=server.runner_token)
        size = 64 * KIB
        body = (content[at : at + size] for at in range(0, len(content), size))
        assert_refused(runner.put(f"runner/release-files/{file_id}", content=body), "upload")
        state = runner.get(f"runner/release-files/{file_id}").json()
        assert state["uploaded"] is False and state["received"] <= LIMITS.upload
    finally:
        server.close()


def test_over_the_limit_as_a_signed_in_caller_and_a_runner(world):
    """A token changes nothing: the limit is the route's."""
    dev, runner = world.client("dev"), world.client(token=world.runner_token)
    assert_refused(dev.post("job-requests", content=chunks(128 * KIB)), "json")
    lines = ["y" * 1000] * 200  # 200 kB: over the JSON limit, under a report's
    taken = runner.post("runner/jobs/nosuchjob/logs", json={"first_seq": 0, "lines": lines})
    assert taken.status_code == 404  # read, and answered by the route itself
    assert_refused(
        runner.post("runner/jobs/nosuchjob/logs", content=chunks(300 * KIB)), "runner_report"
    )
    assert dev.get("me").status_code == 200  # the same connection pool still works


def raw_request(world, head: str) -> socket.socket:
    parsed = urlparse(world.base_url)
    sock = socket.create_connection((parsed.hostname, parsed.port), timeout=30)
    sock.sendall(head.encode())
    return sock


def read_answer(sock: socket.socket) -> bytes:
    """What the server sends until it closes the connection (or stops for 30 s)."""
    got = b""
    while True:
        try:
            data = sock.recv(65536)
        except ConnectionResetError:
            return got
        if not data:
            return got
        got += data


def test_a_huge_length_is_refused_before_a_byte_is_read(world):
    """10 GiB announced, nothing sent: the answer comes at once and the connection closes."""
    sock = raw_request(
        world,
        "POST /api/v1/job-requests HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {10 << 30}\r\n\r\n",
    )
    with sock:
        answer = read_answer(sock)
    assert answer.startswith(b"HTTP/1.1 413 ") and b"connection: close" in answer.lower()
    assert b"application/problem+json" in answer and b"at most 64 KiB" in answer


@pytest.mark.parametrize(
    "head",
    [
        "POST /api/v1/job-requests",  # read before the caller is known: cut at the limit
        f"PUT /api/v1/runner/release-files/{FILE}",  # answered 401 unread: never drained
    ],
)
def test_a_body_that_never_ends_is_cut_off(world, head):
    """Chunks sent for ever: the server stops reading soon after the limit and hangs up."""
    sock = raw_request(world, f"{head} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    sent = [0]

    def flood():
        chunk = b"%x\r\n%s\r\n" % (64 * KIB, b"z" * 64 * KIB)
        try:
            while sent[0] < 1 << 30:  # 1 GiB at most, if the server never hung up
                sock.sendall(chunk)
                sent[0] += 64 * KIB
        except OSError:
            pass  # the server hung up: what this test waits for

    sender = threading.Thread(target=flood, daemon=True)
    sender.start()
    sender.join(120)
    assert not sender.is_alive() and sent[0] < 1 << 30, "the server kept reading"
    sock.close()
    assert world.client("dev").get("me").status_code == 200  # and it still serves others


def test_the_limits_are_traits_of_the_job_server(tmp_path):
    """`c.JobServerApp.max_*_body` reach the app; a limit below one byte is refused."""
    from cryptography.fernet import Fernet
    from traitlets import TraitError
    from traitlets.config import Config

    from jupyter_ext.jobserver.app import JobServerApp
    from jupyter_ext.jobserver.body_limits import LimitBodies
    from jupyter_ext.jobserver.db import upgrade_db

    url = f"sqlite:///{tmp_path / 'js.sqlite'}"
    upgrade_db(url)
    config = Config()
    config.JobServerApp.crypt_keys = [Fernet.generate_key().decode()]
    config.JobServerApp.max_json_body = 2048
    config.JobServerApp.max_runner_report_body = 4096
    config.JobServerApp.max_upload_body = 8192
    server = JobServerApp(config=config, db_url=url)
    server.init_db()
    try:
        server.init_vault()
        server.init_repos()
        server.init_hub_auth()
        server.init_app()
    finally:
        server.engine.dispose()
    settings = server.fastapi_app.state.settings
    limits = (settings.max_json_body, settings.max_runner_report_body, settings.max_upload_body)
    assert limits == (2048, 4096, 8192)
    (middleware,) = [m for m in server.fastapi_app.user_middleware if m.cls is LimitBodies]
    assert middleware.kwargs["limits"] is settings
    with pytest.raises(TraitError, match="max_json_body must be at least 1 byte"):
        JobServerApp(max_json_body=0)
