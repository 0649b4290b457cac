"""Notifications: mail through a real SMTP server on loopback, a signed webhook.

One digest per job request when it ends, one mail per release state change, to the
people `notifications.RULES` names; a mail server that is down only delays mail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select
from traitlets.config import Config

from jupyter_ext.jobserver import orm

from .conftest import build_world
from .harness import JobServer
from .mocking import MockJobServerApp
from .test_releases import finished_job_with_outputs

SECRET = "webhook-secret-for-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def eventually(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


def text_of(mail) -> str:
    return mail.get_payload(decode=True).decode()


class Inbox:
    """An aiosmtpd handler that keeps every message it is handed."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.content)
        message.rcpt_tos = list(envelope.rcpt_tos)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str, subject: str = "") -> list:
        return [m for m in self.messages if address in m.rcpt_tos and subject in m["Subject"]]


class SMTPServer:
    """A real SMTP server on 127.0.0.1, which a test may start late."""

    def __init__(self) -> None:
        self.port, self.inbox, self.controller = free_port(), Inbox(), None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()


class Webhook:
    """A small HTTP server on 127.0.0.1 that keeps each POST's headers and body."""

    def __init__(self) -> None:
        self.calls: list[tuple[dict, bytes]] = []
        calls = self.calls

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                calls.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self, event: str) -> list[dict]:
        return [json.loads(b) for _, b in self.calls if json.loads(b)["event"] == event]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def smtp():
    server = SMTPServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def webhook():
    hook = Webhook()
    yield hook
    hook.close()


def notifying_world(db_url, tmp_path, smtp, webhook=None):
    notifier = dict(
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        mail_from="jobs@example.org",
        webhook_url=webhook.url if webhook else "",
        webhook_secret=SECRET,
        public_url="https://jobs.example.org/",
        interval=0.1,
        retry_max=0.3,
    )
    settings = MockJobServerApp(config=Config({"Notifier": notifier}))
    world = build_world(JobServer(db_url, tmp_path, settings), tmp_path)
    for name in ("dev", "coord", "collab", "admin"):
        email = {"email": f"{name}@example.org"}
        assert world.client(name).patch(f"users/{name}", json=email).status_code == 200
    return world


@pytest.fixture
def world_with_mail(db_url, tmp_path, smtp, webhook):
    world = notifying_world(db_url, tmp_path, smtp, webhook)
    yield world
    world.close()


def run_request(world, actions, **extra) -> dict:
    """Submit a job request as dev and let a runner succeed every job of it, one by one."""
    dev, runner = world.client("dev"), world.client(token=world.runner_token)
    body = {"workspace": "sample", "backend": "tpp", "actions": actions, **extra}
    created = dev.post("job-requests", json=body)
    assert created.status_code == 201, created.text
    request = created.json()
    for _ in range(20):
        for lease in runner.post("runner/poll", json={"wait": 0}).json():
            done = {"state": "succeeded", "exit_code": 0}
            reply = runner.post(f"runner/jobs/{lease['identifier']}/status", json=done)
            assert reply.status_code == 200, reply.text
        request = dev.get(f"job-requests/{request['id']}").json()
        if request["state"] == "succeeded":
            return request
    raise AssertionError(f"the job request did not finish: {request['state']}")


def test_one_digest_when_a_three_job_request_ends(world_with_mail, smtp, webhook):
    request = run_request(world_with_mail, ["make_table"])
    assert len(request["jobs"]) == 3
    (mail,) = eventually(lambda: smtp.inbox.to("dev@example.org"))
    eventually(lambda: webhook.events("job_request.finished"))
    time.sleep(0.5)  # a second mail would have come by now
    assert len(smtp.inbox.messages) == 1 and mail.rcpt_tos == ["dev@example.org"]
    assert mail["From"] == "jobs@example.org" and "succeeded" in mail["Subject"]
    text = text_of(mail)
    for action in ("generate_dataset", "derive_measures", "make_table"):
        assert f"{action}: succeeded" in text
    assert f"https://jobs.example.org/api/v1/job-requests/{request['id']}" in text
    assert world_with_mail.tokens["dev"] not in text


def test_no_mail_when_notify_is_off_or_the_workspace_switch_is_off(world_with_mail, smtp, webhook):
    run_request(world_with_mail, ["generate_dataset"], notify=False)
    eventually(lambda: len(webhook.events("job_request.finished")) == 1)
    off = {"notifications": False}
    assert world_with_mail.client("dev").patch("workspaces/sample", json=off).status_code == 200
    run_request(world_with_mail, ["make_table"])
    eventually(lambda: len(webhook.events("job_request.finished")) == 2)
    time.sleep(0.3)
    assert smtp.inbox.messages == []  # the webhook hears of each; no one is mailed


def test_release_state_changes_mail_the_right_people(world_with_mail, smtp):
    world = world_with_mail
    staff = [
        ("checker1", "output_checker"),
        ("checker2", "output_checker"),
        ("publisher", "output_publisher"),
        ("nomail", "output_checker"),
    ]
    for name, role in staff:
        world.user(name, [role])
        if name != "nomail":
            email = {"email": f"{name}@example.org"}
            assert world.client(name).patch(f"users/{name}", json=email).status_code == 200
    job = finished_job_with_outputs(world)
    files = [{"job": job, "path": "output/table.csv"}]
    group = {"context": "counts", "disclosure_control": "rounded", "files": files}
    release = world.client("dev").post(
        "releases", json={"workspace": "sample", "backend": "tpp", "groups": {"t": group}}
    )
    assert release.status_code == 201, release.text
    release = release.json()

    def recipients(subject):
        return sorted(a for m in smtp.inbox.messages if subject in m["Subject"] for a in m.rcpt_tos)

    checkers = ["checker1@example.org", "checker2@example.org"]
    eventually(lambda: recipients("release requested") == checkers)
    vote = f"releases/{release['id']}/files/{release['files'][0]['id']}/reviews"
    for checker in ("checker1", "checker2"):
        reply = world.client(checker).post(vote, json={"decision": "approve"})
        assert reply.status_code == 201
    both = ["dev@example.org", "publisher@example.org"]
    eventually(lambda: recipients("release reviewed") == both)
    assert world.client("publisher").post(f"releases/{release['id']}/publish").status_code == 200
    eventually(lambda: recipients("release released") == ["dev@example.org"])
    (mail,) = [m for m in smtp.inbox.messages if "release released" in m["Subject"]]
    assert "output/table.csv" in text_of(mail)
    assert f"/api/v1/releases/{release['id']}" in text_of(mail)
    time.sleep(0.3)
    assert recipients("release requested") == checkers  # each once; nomail has no address


def test_webhook_body_is_signed(world_with_mail, webhook):
    request = run_request(world_with_mail, ["generate_dataset"])
    eventually(lambda: webhook.events("job_request.finished"))
    ((headers, body),) = webhook.calls
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Jupyter-Ext-Signature"], expected)
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert (payload["job_request"], payload["state"]) == (request["id"], "succeeded")
    assert SECRET not in body.decode()


def test_a_mail_server_that_is_down_delays_mail(db_url, tmp_path):
    smtp = SMTPServer()  # not started: nothing listens on its port
    world = notifying_world(db_url, tmp_path, smtp)
    try:
        request = run_request(world, ["generate_dataset"])
        assert request["state"] == "succeeded"

        def tried():
            with world.factory() as session:
                row = session.scalar(select(orm.Notification))
                return row is not None and row.attempts >= 2 and row.sent_at is None and row

        row = eventually(tried)
        assert row.last_error and row.recipient == "dev@example.org"
        smtp.start()
        (mail,) = eventually(lambda: smtp.inbox.to("dev@example.org"))
        assert request["id"] in text_of(mail)

        def sent():  # marked once the server has taken it: a moment after it arrived
            with world.factory() as session:
                return session.scalar(select(orm.Notification)).sent_at is not None

        eventually(sent)
        again = world.client("dev").get(f"job-requests/{request['id']}").json()
        assert again["state"] == "succeeded"
    finally:
        smtp.stop()
        world.close()


def test_one_digest_for_a_study_run_when_its_last_site_ends(world_with_mail, smtp, webhook):
    from .test_study_runs import poll, two_sites

    world = world_with_mail
    tokens = two_sites(world)
    body = {"workspace": "sample", "backends": ["north", "south"], "actions": ["generate_dataset"]}
    run = world.client("dev").post("runs", json=body).json()
    for site, state in (("north", "succeeded"), ("south", "failed")):
        (lease,) = poll(world, tokens[site])
        runner = world.client(token=tokens[site])
        runner.post(f"runner/jobs/{lease['identifier']}/status", json={"state": state})
        if site == "north":  # one site done: no mail yet, nor a digest of that site alone
            time.sleep(0.5)
            assert smtp.inbox.messages == [] and webhook.events("job_request.finished") == []
    (mail,) = eventually(lambda: smtp.inbox.to("dev@example.org"))
    (event,) = eventually(lambda: webhook.events("run.finished"))
    time.sleep(0.5)  # a second mail would have come by now
    assert len(smtp.inbox.messages) == 1 and "study run failed" in mail["Subject"]
    text = text_of(mail)
    assert "at 2 sites has ended: failed" in text
    assert "north: succeeded" in text and "south: failed" in text
    assert f"https://jobs.example.org/api/v1/runs/{run['id']}" in text
    assert event["sites"]["north"]["state"] == "succeeded"
    assert webhook.events("job_request.finished") == []
