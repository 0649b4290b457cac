"""A hostile job server against the real runner: crafted leases, and jobs that forge records.

The fake job server below speaks the runner API as `jobserver/routes/runner.py` does (poll,
heartbeat, status, logs, outputs) but hands out whatever leases a test writes: traversal
and absolute paths in every field that becomes a path, a commit and a repository that
read as options of git, a record-poisoning sequence (the issue's reproduction, done by
leases since the pipeline refuses those names). The runner is the real one, `jupyter ext
runner` as a process (local executor; one Docker case). Around the site folder a decoy of
the host's files is walked before and after (`harness.FileSystemWatch`): nothing outside
the site's folder may change, and no status message may name a path of the site, its
host, an exception or a stack trace.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import secrets
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..jobserver.harness import git
from ..jobserver.test_jobserver_cli import SCRIPT, environment, free_port
from .harness import DECOY, FileSystemWatch

FINAL = ("succeeded", "failed", "cancelled")
PAYLOAD = "bytes the attacker wants written anywhere\n"
SECRET = "the host's secret, never to be kept or sent\n"


class FakeJobServer:
    """A job server an attacker controls: it leases what `offer` was given, records all."""

    def __init__(self, log_policy: str = "full") -> None:
        self.log_policy = log_policy
        self.queue: list[dict] = []
        self.statuses: dict[str, list[dict]] = {}
        self.outputs: dict[str, dict] = {}
        self.logs: dict[str, list[str]] = {}
        self.heartbeats = 0
        self.reply: dict | None = None  # a heartbeat reply of the test's, however wrong
        self.lock = threading.Lock()
        prefix = "/api/v1/runner"
        app = Starlette(
            routes=[
                Route(f"{prefix}/poll", self.poll, methods=["POST"]),
                Route(f"{prefix}/heartbeat", self.heartbeat, methods=["POST"]),
                Route(f"{prefix}/jobs/{{identifier:path}}/status", self.status, methods=["POST"]),
                Route(f"{prefix}/jobs/{{identifier:path}}/logs", self.log_lines, methods=["POST"]),
                Route(f"{prefix}/jobs/{{identifier:path}}/outputs", self.report, methods=["POST"]),
            ]
        )
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    # -- the runner API ---------------------------------------------------------------------

    async def poll(self, request: Request) -> JSONResponse:
        body = await request.json()
        for _ in range(10):  # hold the poll a little, as the real one holds it
            with self.lock:
                taken, self.queue = self.queue[: body["capacity"]], self.queue[body["capacity"] :]
            if taken:
                return JSONResponse(taken)
            await asyncio.sleep(0.05)
        return JSONResponse([])

    async def heartbeat(self, request: Request) -> JSONResponse:
        await request.body()
        self.heartbeats += 1
        if self.reply is not None:
            return JSONResponse(self.reply)
        return JSONResponse({"cancel": [], "uploads": [], "log_policy": self.log_policy})

    async def status(self, request: Request) -> Response:
        body = await request.json()
        with self.lock:
            self.statuses.setdefault(request.path_params["identifier"], []).append(body)
        return JSONResponse({})

    async def log_lines(self, request: Request) -> Response:
        body = await request.json()
        with self.lock:
            self.logs.setdefault(request.path_params["identifier"], []).extend(body["lines"])
        return Response(status_code=204)

    async def report(self, request: Request) -> Response:
        self.outputs[request.path_params["identifier"]] = await request.json()
        return Response(status_code=204)

    # -- what a test does -------------------------------------------------------------------

    def offer(self, lease: dict) -> None:
        with self.lock:
            self.queue.append(lease)

    def final(self, identifier: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for update in self.statuses.get(identifier, []):
                if update["state"] in FINAL:
                    return update
            time.sleep(0.1)
        raise AssertionError(f"no final state for {identifier!r}: {self.statuses}")

    def run(self, lease: dict, timeout: float = 120) -> dict:
        self.offer(lease)
        return self.final(lease["identifier"], timeout)


def said(update: dict) -> dict:
    """A job's end without its usage (what it used is `runner/test_usage.py`'s to judge)."""
    return {key: value for key, value in update.items() if key != "usage"}


JOBS = {
    "ok.py": (
        "import pathlib\npathlib.Path('out').mkdir()\n"
        "pathlib.Path('out/ok.csv').write_text('a\\n1\\n')\n"
    ),
    # writes what the old runner took for its record of the action `victim`, and a payload
    "poison.py": (
        "import hashlib, json, pathlib, sys\n"
        "payload = pathlib.Path('payload.txt')\n"
        f"payload.write_text({PAYLOAD!r})\n"
        "sha = hashlib.sha256(payload.read_bytes()).hexdigest()\n"
        "forged = {'job': 'forged', 'outputs': {'../' * 12 + sys.argv[1].lstrip('/') + "
        "'/escaped.txt': sha, sys.argv[1] + '/escaped-abs.txt': sha}}\n"
        "pathlib.Path('.jupyter-ext').mkdir()\n"
        "pathlib.Path('.jupyter-ext/victim.json').write_text(json.dumps(forged))\n"
        # the local executor does not isolate: the job finds the site's own records, too
        "here = pathlib.Path.cwd()\n"
        "for folder in here.parents:\n"
        "    if (folder / 'journal').is_dir():\n"
        "        (folder / 'records' / 'w').mkdir(parents=True, exist_ok=True)\n"
        "        (folder / 'records' / 'w' / 'victim.json').write_text(json.dumps(forged))\n"
        "        break\n"
    ),
    "consumer.py": (
        "import os, pathlib\n"
        "for folder, _, files in os.walk('.'):\n"
        "    for name in files:\n"
        "        print('has', os.path.join(folder, name))\n"
        "pathlib.Path('out').mkdir(exist_ok=True)\n"
        "pathlib.Path('out/consumed.csv').write_text('a\\n1\\n')\n"
    ),
    "link.py": (
        "import os, sys\nos.makedirs('out')\n"
        "os.symlink(sys.argv[1] + '/secret.txt', 'out/secret.csv')\n"
    ),
    "dirlink.py": "import os, sys\nos.symlink(sys.argv[1], 'out')\n",
    "big.py": (
        "import os\nos.makedirs('out')\n"
        "for name in ('one', 'two'):\n"
        "    open(f'out/{name}.bin', 'wb').write(os.urandom(700 * 1024))\n"
    ),
    "fails.py": (
        "import os, sys\nos.makedirs('out')\nopen('out/x.csv', 'w').write('1')\n"
        "for i in range(5):\n    open(f'undeclared-{i}', 'w').write('x')\nsys.exit(7)\n"
    ),
    "mixed.py": (
        "import os\nos.makedirs('out')\n"
        "open('out/rows-2411.csv', 'w').write('id\\n1\\n')\n"
        "open('out/table.csv', 'w').write('n\\n10\\n')\n"
        "for i in range(3):\n    open(f'undeclared-{i}', 'w').write('x')\n"
    ),
}


class Attack:
    """A site folder with a decoy around it, a repository of the jobs, a runner process."""

    def __init__(self, tmp_path: Path, server: FakeJobServer, executor: str = "local") -> None:
        self.around = tmp_path / "around"
        self.site = self.around / "site"
        self.outside = self.around / "outside"
        for relative, text in DECOY.items():
            (self.outside / relative).parent.mkdir(parents=True, exist_ok=True)
            (self.outside / relative).write_text(text)
        (self.outside / "secret.txt").write_text(SECRET)
        self.repo = tmp_path / "repo"
        self.repo.mkdir()
        for name, text in JOBS.items():
            (self.repo / name).write_text(text)
        git(self.repo, "init", "-q", "-b", "main")
        git(self.repo, "add", ".")
        git(self.repo, "commit", "-q", "-m", "jobs")
        self.sha = git(self.repo, "rev-parse", "HEAD")
        self.marker = f"hostile-{secrets.token_hex(6)}"
        self.server, self.executor = server, executor
        self.token = tmp_path / "runner.token"
        self.token.write_text("jxr_a-token-the-fake-does-not-check")
        self.log = tmp_path / "runner.log"
        self.watch = FileSystemWatch([self.around, tmp_path / "repo"], [self.site], self.marker)

    def lease(self, **fields) -> dict:
        lease = {
            "identifier": secrets.token_hex(8),
            "job_request": "01JREQUEST",
            "workspace": "w",
            "action": "ok",
            "repo": str(self.repo),
            "sha": self.sha,
            "run": "python:v2 ok.py",
            "needs": [],
            "wait_for": [],
            "outputs": {"moderately_sensitive": {"t": "out/ok.csv"}},
            "datasets": [],
            "github_token": None,
            "lease_expires_at": (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat(),
        }
        return lease | fields

    def __enter__(self):
        if not SCRIPT.exists():
            pytest.skip(f"the jupyter-ext script is not installed next to {SCRIPT.parent}")
        self.log_file = self.log.open("w")
        self.runner = subprocess.Popen(
            [
                str(SCRIPT),
                "runner",
                "--server",
                self.server.url,
                "--backend",
                "tpp",
                "--token-file",
                str(self.token),
                "--workdir",
                str(self.site),
                "--executor",
                self.executor,
                "--RunnerApp.outputs_quota_mb=1",
            ],
            cwd=self.around.parent,
            env=environment(),
            stdout=subprocess.DEVNULL,
            stderr=self.log_file,
        )
        return self

    def __exit__(self, *exc) -> None:
        self.runner.send_signal(signal.SIGTERM)
        try:
            self.runner.wait(30)
        except subprocess.TimeoutExpired:
            self.runner.kill()
            self.runner.wait(10)
        self.log_file.close()

    def stored(self) -> dict[str, bytes]:
        """The site's store: sha256 -> bytes."""
        store = self.site / "store"
        return {p.name: p.read_bytes() for p in store.glob("*/*") if p.is_file()}

    def leaks(self, message: str) -> list[str]:
        """What of the site a message names: its folders, host name, exception, stack."""
        words = [
            str(self.site),
            str(self.around),
            str(self.around.parent),
            "/tmp/",
            socket.gethostname(),
            "Traceback",
            "Error:",
            "Exception",
            "__",
        ]
        return [word for word in words if word and word in message]


def messages(server: FakeJobServer) -> list[str]:
    return [u["status_message"] for updates in server.statuses.values() for u in updates]


def lease_attacks(attack: Attack) -> dict[str, dict]:
    """Leases whose fields would lead out of their folders: each must be refused at once."""
    out = str(attack.outside)
    up = "../" * 12 + out.lstrip("/")
    return {
        "identifier traversal": {"identifier": f"../../outside/{attack.marker}"},
        "identifier absolute": {"identifier": f"/tmp/{attack.marker}"},
        "job request": {"job_request": f"../../{attack.marker}"},
        "workspace traversal": {"workspace": f"../../outside/{attack.marker}"},
        "workspace absolute": {"workspace": f"/tmp/{attack.marker}"},
        "action traversal (the issue's)": {"action": f"/{up}/{attack.marker}-record"},
        "action dot-dot": {"action": ".."},
        "needs traversal": {"needs": [f"../../../outside/{attack.marker}"]},
        "needs absolute": {"needs": [f"{out}/{attack.marker}"]},
        "output pattern traversal": {
            "outputs": {"highly_sensitive": {"x": f"../../outside/{attack.marker}.csv"}}
        },
        "output pattern absolute": {"outputs": {"highly_sensitive": {"x": f"{out}/*.csv"}}},
        "output level": {"outputs": {f"../../{attack.marker}": {"x": "out/ok.csv"}}},
        "dataset name": {
            "datasets": [
                {"name": f"../../outside/{attack.marker}", "version": 1, "sha256": "0" * 64}
            ]
        },
        "sha as an option": {"sha": f"--output={out}/{attack.marker}.tar"},
        "sha short": {"sha": "HEAD"},
        "repo as an option": {"repo": f"--upload-pack=touch {out}/{attack.marker}"},
        "repo as a command": {"repo": f"ext::sh -c touch% {out}/{attack.marker}"},
        "run empty": {"run": ""},
    }


def test_leases_that_lead_out_are_refused_with_a_sentence_and_nothing_written(tmp_path):
    with FakeJobServer() as server, Attack(tmp_path, server) as attack:
        good = attack.lease()
        assert server.run(good)["state"] == "succeeded", server.statuses
        refused = {}
        for name, fields in lease_attacks(attack).items():
            lease = attack.lease(**fields)
            server.offer(lease)
            refused[name] = server.final(lease["identifier"])
        # the runner goes on: a good job after them all still runs
        assert server.run(attack.lease())["state"] == "succeeded"
    for name, update in refused.items():
        assert update["state"] == "failed", (name, update)
        assert update["status_message"].startswith("refused by the runner: "), (name, update)
        assert len(update["status_message"]) < 300, (name, update)
    assert attack.watch.changes() == []
    # nothing of a refused job was written on the site either: no journal entry, no folder
    journal = attack.site / "journal"
    assert not journal.exists() or list(journal.iterdir()) == []
    assert not (attack.site / "workspaces" / ".." / "outside").exists()
    leaks = {m: attack.leaks(m) for m in messages(server) if attack.leaks(m)}
    assert leaks == {}
    site_log = attack.log.read_text()
    assert "refused, nothing written" in site_log  # the site's log says which, and why


def test_the_issues_record_poisoning_writes_nothing_outside_the_site(tmp_path):
    """The issue's three requests, by leases: the traversal-named action (refused at the
    lease, above), a producer whose declared output is the old record place with a forged
    record of `victim` pointing out of the site, and a consumer that needs `victim`. The
    local executor lets the producer forge the site's own record too: still nothing leaves."""
    with FakeJobServer() as server, Attack(tmp_path, server) as attack:
        outputs = {
            "moderately_sensitive": {"record": ".jupyter-ext/victim.json", "payload": "payload.txt"}
        }
        producer = attack.lease(
            action="poison", run=f"python:v2 poison.py {attack.outside}", outputs=outputs
        )
        made = server.run(producer)
        consumer = attack.lease(
            action="consumer",
            run="python:v2 consumer.py",
            needs=["victim"],
            outputs={"moderately_sensitive": {"c": "out/consumed.csv"}},
        )
        consumed = server.run(consumer)
    assert made["state"] == "succeeded", made
    assert consumed["state"] == "failed", consumed
    assert consumed["status_message"] == (
        "not started: the site's record of the action 'victim' names an output out of the "
        "job's folder: run it again"
    )
    assert attack.watch.changes() == []
    assert not list(attack.around.glob("**/escaped*.txt"))
    assert {m: attack.leaks(m) for m in messages(server) if attack.leaks(m)} == {}


def test_a_need_is_never_written_through_a_link_in_the_checkout(tmp_path):
    """The site's record and store are the runner's, but the job's folder is not: a need's
    path whose parent is a link out (left by a checkout or anything else) is refused."""
    from jupyter_ext.runner.agent import Agent
    from jupyter_ext.runner.executors import LocalExecutor
    from jupyter_ext.runner.paths import PathEscape
    from jupyter_ext.runner.provenance import write_record
    from jupyter_ext.schema import Lease

    outside = tmp_path / "outside"
    outside.mkdir()
    agent = Agent(None, LocalExecutor(), tmp_path / "site")
    payload = tmp_path / "payload"
    payload.write_text(PAYLOAD)
    sha = hashlib.sha256(PAYLOAD.encode()).hexdigest()
    agent.store.keep(payload, sha)
    write_record(agent.records, "w", "maker", "j1", {"data/rows.csv": sha})
    job = tmp_path / "job"
    job.mkdir()
    (job / "data").symlink_to(outside)
    now = dt.datetime.now(dt.UTC)
    lease = Lease(
        identifier="j2",
        job_request="r",
        workspace="w",
        action="user",
        repo="x",
        sha="0" * 40,
        run="python:v2 u.py",
        needs=["maker"],
        wait_for=[],
        outputs={},
        lease_expires_at=now,
    )
    with pytest.raises(PathEscape) as refused:
        agent._bring_needs(lease, job)
    assert "leads out of its folder" in str(refused.value) and str(tmp_path) not in str(
        refused.value
    )
    assert list(outside.iterdir()) == []
    (job / "data").unlink()
    (given,), hidden = agent._bring_needs(lease, job)
    assert (given.path, given.job, hidden) == ("data/rows.csv", "j1", [])
    assert (job / "data" / "rows.csv").read_text() == PAYLOAD


def test_outputs_that_are_links_or_over_the_quota_are_not_kept(tmp_path):
    with FakeJobServer() as server, Attack(tmp_path, server) as attack:
        link = server.run(
            attack.lease(
                action="link",
                run=f"python:v2 link.py {attack.outside}",
                outputs={"moderately_sensitive": {"t": "out/*.csv"}},
            )
        )
        folder = server.run(
            attack.lease(
                action="dirlink",
                run=f"python:v2 dirlink.py {attack.outside}",
                outputs={"moderately_sensitive": {"t": "out/secret.txt"}},
            )
        )
        big = server.run(
            attack.lease(
                action="big",
                run="python:v2 big.py",
                outputs={"highly_sensitive": {"b": "out/*.bin"}},
            )
        )
    assert link["state"] == "failed", link
    # a link is never a produced file (the walk does not follow one); were it swapped in
    # after the walk, the output is opened without following links (test_runner_paths.py)
    assert link["status_message"] == "declared outputs were not produced: out/*.csv", link
    assert folder["status_message"] == "declared outputs were not produced: out/secret.txt"
    assert said(big) == {
        "state": "failed",
        "exit_code": 0,
        "status_message": (
            "its outputs are 1.4 MB, over this backend's limit of 1 MB: none is kept"
        ),
    }
    stored = attack.stored()
    assert SECRET.encode() not in stored.values()
    assert all(len(data) < 700 * 1024 for data in stored.values())  # no part of `big` kept
    assert not (attack.site / "workspaces" / "w" / "out" / "one.bin").exists()
    assert not server.outputs  # nothing of theirs was reported
    assert attack.watch.changes() == []
    assert {m: attack.leaks(m) for m in messages(server) if attack.leaks(m)} == {}


def test_an_error_in_the_runner_is_an_id_for_the_job_server_and_a_traceback_on_the_site(
    tmp_path,
):
    with FakeJobServer() as server, Attack(tmp_path, server) as attack:
        broken = attack.site / "records" / "w" / "broken.json"
        server.run(attack.lease())  # the site's folders exist once a job ran
        broken.parent.mkdir(parents=True, exist_ok=True)
        broken.write_text("{not json")
        update = server.run(attack.lease(action="user", needs=["broken"]))
    assert update["state"] == "failed"
    message = update["status_message"]
    assert message.startswith("the runner could not run this job (error "), message
    assert message.endswith("the site's log has the details")
    error = message.split("(error ", 1)[1].split(")", 1)[0]
    site_log = attack.log.read_text()
    assert f"(error {error})" in site_log and "Traceback" in site_log
    assert attack.leaks(message) == []


def test_a_status_backend_sends_only_the_runners_words(tmp_path):
    """On a backend whose policy is status nothing a job chose leaves: no exit code, no
    undeclared count, no name, size or hash of a highly sensitive output."""
    with FakeJobServer(log_policy="status") as server, Attack(tmp_path, server) as attack:
        while not server.heartbeats:  # the runner hears the policy before a job
            time.sleep(0.05)
        failed = server.run(
            attack.lease(
                action="fails",
                run="python:v2 fails.py",
                outputs={"highly_sensitive": {"x": "out/x.csv"}},
            )
        )
        lease = attack.lease(
            action="mixed",
            run="python:v2 mixed.py",
            outputs={
                "highly_sensitive": {"rows": "out/rows-*.csv"},
                "moderately_sensitive": {"table": "out/table.csv"},
            },
        )
        mixed = server.run(lease)
        missing = server.run(
            attack.lease(
                action="lazy",
                run="python:v2 consumer.py",
                outputs={"moderately_sensitive": {"a": "out/consumed.csv", "b": "out/never.csv"}},
            )
        )
    for update in (failed, mixed, missing):  # of what the job used, its wall time alone
        usage = update.get("usage") or {}
        assert {k for k, v in usage.items() if v is not None} <= {"wall_seconds"}, update
    assert said(failed) == {
        "state": "failed",
        "exit_code": None,
        "status_message": "the action failed: its exit code and log stay on the site",
    }
    assert said(mixed) == {
        "state": "succeeded",
        "exit_code": 0,
        "status_message": "its outputs are kept on the site",
    }
    report = json.dumps(server.outputs[lease["identifier"]])
    assert "rows-2411" not in report and "out/table.csv" in report
    rows = hashlib.sha256(b"id\n1\n").hexdigest()
    assert rows not in report
    assert missing["status_message"] == "declared outputs were not produced"
    assert server.logs == {} or all(lines == [] for lines in server.logs.values())
    # the site keeps it all
    assert (attack.site / "workspaces" / "w" / "out" / "rows-2411.csv").exists()


def test_a_heartbeat_reply_that_is_nonsense_is_heard_as_nothing(tmp_path):
    """Replies that break the wire format (a policy that does not exist, cancels that are
    not a list, an upload of a path out) change nothing: the runner beats on, runs its
    jobs, and sends no line while it has not heard a policy it understands."""
    with FakeJobServer() as server:
        server.reply = {
            "cancel": "everything",
            "uploads": [{"path": "../../x"}],
            "log_policy": "lax",
        }
        with Attack(tmp_path, server) as attack:
            while not server.heartbeats:
                time.sleep(0.05)
            done = server.run(attack.lease())
            deadline = time.monotonic() + 60
            while server.heartbeats < 2 and time.monotonic() < deadline:  # it beats on
                time.sleep(0.1)
    assert server.heartbeats >= 2, "the runner stopped beating after a nonsense reply"
    assert done["state"] == "succeeded", done
    assert all(lines == [] for lines in server.logs.values())
    assert "heartbeat reply is not valid" in attack.log.read_text()


def test_docker_the_runner_holds_the_same_line(tmp_path, docker_images):
    """One Docker case: the record poisoning and a link out, with the container's job."""
    with FakeJobServer() as server, Attack(tmp_path, server, executor="docker") as attack:
        refused = server.run(attack.lease(action=f"/{'../' * 12}tmp/{attack.marker}"))
        outputs = {
            "moderately_sensitive": {"record": ".jupyter-ext/victim.json", "payload": "payload.txt"}
        }
        made = server.run(
            attack.lease(
                action="poison", run=f"python:v2 poison.py {attack.outside}", outputs=outputs
            ),
            timeout=300,
        )
        consumed = server.run(
            attack.lease(
                action="consumer",
                run="python:v2 consumer.py",
                needs=["victim"],
                outputs={"moderately_sensitive": {"c": "out/consumed.csv"}},
            ),
            timeout=300,
        )
        link = server.run(
            attack.lease(
                action="link",
                run=f"python:v2 link.py {attack.outside}",
                outputs={"moderately_sensitive": {"t": "out/*.csv"}},
            ),
            timeout=300,
        )
    assert refused["state"] == "failed" and refused["status_message"].startswith(
        "refused by the runner: the action"
    )
    assert made["state"] == "succeeded", made
    assert consumed["state"] == "succeeded", consumed  # the forged record was just a file
    assert not any("escaped" in line for lines in server.logs.values() for line in lines)
    assert link["status_message"] == "declared outputs were not produced: out/*.csv", link
    assert SECRET.encode() not in attack.stored().values()
    assert attack.watch.changes() == []
    assert {m: attack.leaks(m) for m in messages(server) if attack.leaks(m)} == {}
