"""Hostile jobs through the real Slurm executor, on a real single-node cluster, as root.

The job's folder is where the runner puts it (on its own disk, inside a site folder with a
journal, a store, another job's folder and the runner's token beside it). Each attack is
contained: the job reads nothing of the site or the host's secrets, reaches no port, is
bounded in processes, memory, time and /tmp, cannot regain privileges; and a plain job runs
fine afterwards. The whole runner with the job server is tried in test_disk_quota.py and
test_slurm_executor.py (the sample project end to end).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from pathlib import Path

import pytest

from jupyter_ext.runner.executors.base import JobSpec
from jupyter_ext.runner.quota import JobFolders

from ..runner.test_slurm_executor import HANG_GUARD, new_executor

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="a Slurm sandbox needs a root runner")

TOKEN = "runner-token-0123456789abcdef"
SECRET = "another job's secret rows"

PROBE = """
import json, os, socket, sys
tried = {}

def attempt(name, action):
    try:
        tried[name] = "succeeded: " + repr(action())[:200]
    except BaseException as exc:
        tried[name] = f"refused: {type(exc).__name__}: {exc}"[:200]

targets = json.loads(sys.argv[1])
attempt("shadow", lambda: open("/etc/shadow").read())
attempt("token", lambda: open(targets["token"]).read())
attempt("site", lambda: os.listdir(targets["site"]))
attempt("journal", lambda: os.listdir(targets["journal"]))
attempt("store", lambda: open(targets["store"]).read())
attempt("other_job", lambda: open(targets["other"]).read())
attempt("other_data", lambda: os.listdir(targets["other_data"]))
attempt("root_home", lambda: os.listdir("/root"))
attempt("connect", lambda: socket.create_connection(("127.0.0.1", targets["port"]), timeout=3))
attempt("setuid", lambda: os.setuid(0))
attempt("write_usr", lambda: open("/usr/jx-was-here", "w"))
attempt("write_etc", lambda: open("/etc/jx-was-here", "w"))
attempt("mount", lambda: __import__("subprocess").run(
    ["mount", "-t", "tmpfs", "x", "/tmp"], check=True, capture_output=True))
def tmp_fill():
    with open("/tmp/fill", "wb") as f:
        for _ in range(4096):
            f.write(b"x" * (1 << 20))
attempt("tmp_fill", tmp_fill)
status = open("/proc/self/status").read()
facts = {
    "uid": os.getuid(), "gid": os.getgid(), "groups": os.getgroups(),
    "cap_eff": [l.split()[1] for l in status.splitlines() if l.startswith("CapEff")][0],
    "no_new_privs": [l.split()[1] for l in status.splitlines() if l.startswith("NoNewPrivs")][0],
    "pids": sorted(int(p) for p in os.listdir("/proc") if p.isdigit()),
    "root": sorted(os.listdir("/")),
    "dataset": open(os.path.join(os.environ["JUPYTER_EXT_DATASETS"], "cohort", "rows.csv")).read(),
    "interfaces": [line.split(":")[0].strip() for line in open("/proc/net/dev").readlines()[2:]],
}
attempt("dataset_write", lambda: open(
    os.path.join(os.environ["JUPYTER_EXT_DATASETS"], "cohort", "rows.csv"), "a"))
json.dump({"tried": tried, "facts": facts}, open("probe.json", "w"))
print("probed", flush=True)
"""

FORK_BOMB = """
import os
print("forking", flush=True)
while True:
    try:
        os.fork()
    except OSError:
        pass
"""

COUNT_FORKS = """
import os, time
made = 0
try:
    while made < 10000:
        if os.fork() == 0:
            time.sleep(600)
            os._exit(0)
        made += 1
except OSError as exc:
    print(f"made {made}, then {exc.strerror}", flush=True)
"""

MEMORY_HOG = """
hold = []
print("eating", flush=True)
while True:
    hold.append(bytearray(16 << 20))
"""

NEVER_ENDS = """
import signal, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
print("forever", flush=True)
while True:
    time.sleep(1)
"""

FINE = "open('fine.txt', 'w').write('fine')\nprint('fine', flush=True)\n"


class Site:
    """A runner's folder as the runner lays it out, with things a job must not reach."""

    def __init__(self, tmp_path: Path) -> None:
        self.root = tmp_path / "site"
        self.folders = JobFolders(self.root, 64)
        (self.root / "journal").mkdir()
        (self.root / "journal" / "job1.json").write_text('{"lease": "secret"}')
        (self.root / "store" / "ab").mkdir(parents=True)
        self.store = self.root / "store" / "ab" / "abcdef"
        self.store.write_text("kept output bytes")
        self.other = self.folders.make("otherjob") / "rows.csv"
        self.other.write_text(SECRET)
        self.other.chmod(0o644)
        self.token = tmp_path / "runner.token"
        self.token.write_text(TOKEN)
        self.token.chmod(0o600)
        self.data = tmp_path / "data"
        for name in ("cohort", "not_leased"):
            (self.data / name).mkdir(parents=True)
            (self.data / name / "rows.csv").write_text(f"{name}\n1\n")
        self.count = 0

    def spec(self, program: str, args=(), name: str = "") -> JobSpec:
        self.count += 1
        ident = name or f"hostile{self.count}"
        folder = self.folders.make(ident)
        (folder / "main.py").write_text(program)
        return JobSpec(
            identifier=ident,
            image="python",
            args=["main.py", *args],
            workdir=folder,
            env={"LANG": "C.UTF-8", "PATH": "/usr/bin:/bin", "HOME": str(folder)},
            datasets={"cohort": self.data / "cohort"},
            scratch=self.root / "scratch" / ident,
        )


def run(executor, spec: JobSpec):
    lines: list[str] = []

    async def main():
        return await asyncio.wait_for(executor.run(spec, lines.append), HANG_GUARD)

    return asyncio.run(main()), lines


def no_cgroup_left(ident: str) -> bool:
    """The job's cgroups are gone: the batch script removes them as the job ends, which may
    be just after Slurm says it ended. They are nested in slurmd's, which are this test
    process's (the cluster is its child)."""
    folders = []
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, relative = line.split(":", 2)
        for controller in set(controllers.split(",")) & {"memory", "pids", "cpu"}:
            folder = Path(f"/sys/fs/cgroup/{controller}{relative.rstrip('/')}")
            folders.append(folder / f"jupyter-ext-{ident}")
    deadline = time.monotonic() + 30  # not a timing check: how long to wait before failing
    while any(f.exists() for f in folders) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not any(f.exists() for f in folders)


@pytest.fixture
def site(tmp_path):
    attacked = Site(tmp_path)
    yield attacked
    attacked.folders.sweep(set())  # unmount every job's disk


@pytest.fixture
def executor(slurm_cluster):
    return new_executor(slurm_cluster, memory_mb=200, pids_limit=64, tmp_mb=16)


def test_a_hostile_job_reads_nothing_of_the_site_and_reaches_no_port(executor, site):
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen()
    listening.setblocking(False)
    targets = {
        "token": str(site.token),
        "site": str(site.root),
        "journal": str(site.root / "journal"),
        "store": str(site.store),
        "other": str(site.other),
        "other_data": str(site.data / "not_leased"),
        "port": listening.getsockname()[1],
    }
    spec = site.spec(PROBE, [json.dumps(targets)])
    try:
        execution, lines = run(executor, spec)
        with pytest.raises(BlockingIOError):  # nobody ever connected
            listening.accept()
    finally:
        listening.close()
    assert (execution.exit_code, lines) == (0, ["probed"]), (execution, lines)
    probe = json.loads((spec.workdir / "probe.json").read_text())
    tried, facts = probe["tried"], probe["facts"]
    # The sandbox's root holds empty folders on the way to the job's folder and its Python:
    # listing them shows those names and nothing of what the site keeps there.
    shown = {"site": "succeeded: ['scratch', 'jobs']", "root_home": "succeeded: ['.pyenv']"}
    for attack, outcome in tried.items():
        assert outcome.startswith("refused") or outcome == shown.get(attack), (attack, outcome)
    assert "PermissionError" in tried["shadow"]  # /etc is there, read as nobody
    assert "No space left on device" in tried["tmp_fill"]  # /tmp is small and its own
    assert "unreachable" in tried["connect"] or "Errno" in tried["connect"]
    assert facts["uid"] == facts["gid"] == 65534 and facts["groups"] == []
    assert int(facts["cap_eff"], 16) == 0 and facts["no_new_privs"] == "1"
    assert facts["interfaces"] == ["lo"]
    assert os.getpid() not in facts["pids"] and len(facts["pids"]) < 10
    assert facts["dataset"] == "cohort\n1\n"
    assert "tmp" in facts["root"] and "home" not in facts["root"]
    assert (site.other.read_text(), site.token.read_text()) == (SECRET, TOKEN)
    assert not Path("/usr/jx-was-here").exists() and not Path("/etc/jx-was-here").exists()
    assert no_cgroup_left(spec.identifier)


def test_a_fork_bomb_is_held_to_its_process_limit_and_stopped(slurm_cluster, site):
    executor = new_executor(slurm_cluster, pids_limit=64, time_limit=8)
    counted, lines = run(executor, site.spec(COUNT_FORKS))
    made = int(lines[0].split()[1].rstrip(","))  # the sandbox's shell and the job count too
    assert counted.exit_code == 0 and 50 < made < 64, lines
    spec = site.spec(FORK_BOMB)
    execution, lines = run(executor, spec)
    assert execution.timed_out, execution
    assert lines[:1] == ["forking"]
    assert no_cgroup_left(spec.identifier)
    after, _ = run(executor, site.spec(FINE))
    assert after.exit_code == 0


def test_a_job_over_its_memory_is_stopped_saying_so(executor, site):
    execution, lines = run(executor, site.spec(MEMORY_HOG))
    assert execution.exit_code != 0
    assert execution.message == "stopped: it used more than its 200 MB of memory"
    assert lines[:1] == ["eating"]


def test_a_job_that_never_ends_and_ignores_sigterm_is_stopped(slurm_cluster, site):
    executor = new_executor(slurm_cluster, time_limit=5)
    spec = site.spec(NEVER_ENDS)
    execution, lines = run(executor, spec)
    assert execution.timed_out and lines[:1] == ["forever"]
    assert execution.provenance["slurm_job"] not in slurm_cluster.queue()
    assert no_cgroup_left(spec.identifier)


def test_the_site_folder_is_private_and_a_plain_job_still_runs(executor, site):
    assert (site.root.stat().st_mode & 0o777) == 0o700
    execution, lines = run(executor, site.spec(FINE, name="plain"))
    assert (execution.exit_code, lines) == (0, ["fine"])
    assert (site.folders.folder("plain") / "fine.txt").read_text() == "fine"
    assert (site.folders.folder("plain") / "fine.txt").stat().st_uid == 65534


def test_a_root_or_unknown_job_user_is_refused_saying_so(slurm_cluster, site):
    executor = new_executor(slurm_cluster, job_user="root")
    execution, _ = run(executor, site.spec(FINE))
    assert execution.exit_code is None and "must not be root" in execution.message
    executor = new_executor(slurm_cluster, job_user="no-such-user-here")
    execution, _ = run(executor, site.spec(FINE))
    assert "does not exist here" in execution.message


HOSTILE_PROJECT = {
    "project.yaml": """version: "5"
actions:
  bomb:
    run: python:v2 bomb.py
    outputs: {highly_sensitive: {x: out/bomb.csv}}
  hog:
    run: python:v2 hog.py
    outputs: {highly_sensitive: {x: out/hog.csv}}
  fine:
    run: python:v2 fine.py
    outputs: {moderately_sensitive: {x: out/fine.csv}}
""",
    "bomb.py": FORK_BOMB,
    "hog.py": MEMORY_HOG,
    "fine.py": "import os\nos.makedirs('out')\nopen('out/fine.csv', 'w').write('n\\n8\\n')\n",
}


def test_through_the_runner_hostile_jobs_fail_and_the_runner_runs_the_next(slurm_cluster, tmp_path):
    """The real runner and job server: a fork bomb and a memory hog at once, then a plain
    job; the runner keeps going, and the token file it was given is 0600."""
    from jupyter_ext.runner.app import RunnerApp

    from ..jobserver.conftest import build_world
    from ..jobserver.harness import JobServer, make_repo
    from ..runner.test_local_runner import RunnerThread, wait_for

    token = tmp_path / "runner.token"
    token.write_text(TOKEN)
    token.chmod(0o644)
    assert RunnerApp(token_file=str(token))._read_token() == TOKEN
    assert token.stat().st_mode & 0o777 == 0o600

    source = tmp_path / "hostile-src"
    source.mkdir()
    for name, text in HOSTILE_PROJECT.items():
        (source / name).write_text(text)
    world = build_world(JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path), tmp_path)
    make_repo(tmp_path / "repos" / "hostile", source)
    world.workspace("sample-study", "hostile", tmp_path / "repos" / "hostile")
    executor = new_executor(slurm_cluster, memory_mb=200, pids_limit=64, time_limit=10)

    def submit(action):
        body = {"workspace": "hostile", "backend": "tpp", "actions": [action]}
        return world.client("dev").post("job-requests", json=body).json()

    try:
        with RunnerThread(world, tmp_path / "site", executor=executor, job_disk_mb=64):
            bomb, hog = submit("bomb"), submit("hog")
            bombed = wait_for(world, bomb["id"], timeout=HANG_GUARD)["jobs"][0]
            hogged = wait_for(world, hog["id"], timeout=HANG_GUARD)["jobs"][0]
            fine = wait_for(world, submit("fine")["id"], timeout=HANG_GUARD)["jobs"][0]
    finally:
        world.close()
    assert bombed["state"] == "failed", bombed
    assert bombed["status_message"] == "stopped: it ran longer than its limit of 10 s"
    assert hogged["state"] == "failed", hogged
    assert hogged["status_message"] == "stopped: it used more than its 200 MB of memory"
    assert fine["state"] == "succeeded", fine
