"""Hostile jobs in Docker, through the real job server and runner: contained, the runner goes on.

An analyst's action does what an attacker's code would: reads another project's
dataset (by its path on the host and under /datasets), writes outside its folder,
reaches the job server, forks without end, fills its disk and its /tmp, floods
the log with lines and one huge line, eats memory, never ends. Each is stopped by
the container's limits or the runner's (kept small here so the test is quick),
each ends with the runner's own sentence, nothing outside the site's folder
changes, and afterwards the same runner still runs an ordinary job.
"""

from __future__ import annotations

import json

import pytest

from .conftest import executor_with

pytestmark = pytest.mark.usefixtures("docker_images")

TIME_LIMIT, MEMORY_MB, DISK_MB, TMP_MB, PIDS, LOG_CAP = 10, 128, 64, 16, 48, 500
ROWS = "id,age\n1,40\n2,41\n"
FLOOD_LINES = 20_000  # drained from Docker in a few seconds: well within the time limit

SNOOP = """import json, os, socket
tried = {}
def attempt(name, fn):
    try:
        fn()
        tried[name] = "allowed"
    except OSError as exc:
        tried[name] = type(exc).__name__
def read(path):
    return lambda: open(path).read()
def write(path):
    return lambda: open(path, "w").write("x")
attempt("read their dataset by /datasets", read("/datasets/theirs/rows.csv"))
attempt("read their dataset by its host path", read("HOST_THEIRS"))
attempt("read my dataset by its host path", read("HOST_MINE"))
attempt("read the site's journal", lambda: os.listdir("HOST_SITE/journal"))
attempt("read the decoy", read("HOST_OUTSIDE/notes.txt"))
attempt("write the decoy", write("HOST_OUTSIDE/notes.txt"))
attempt("write the root", write("/escape.txt"))
attempt("write /etc", write("/etc/passwd"))
attempt("write above the workspace", write("/workspace/../escape.txt"))
attempt("write my dataset", write("/datasets/mine/rows.csv"))
attempt("write /tmp", write("/tmp/scratch.txt"))
attempt("reach the job server", lambda: socket.create_connection(("127.0.0.1", PORT), 2))
tried["datasets given"] = sorted(os.listdir(os.environ.get("JUPYTER_EXT_DATASETS", "/nowhere")))
tried["mine"] = open("/datasets/mine/rows.csv").read()
os.makedirs("out", exist_ok=True)
open("out/snoop.json", "w").write(json.dumps(tried))
"""
FORK_BOMB = """import os
print("forking", flush=True)
while True:
    try:
        os.fork()
    except OSError:
        pass
"""
FILL_DISK = """import os
chunk = b"x" * (1 << 20)
try:
    with open("/tmp/fill", "wb") as f:
        for _ in range(TMP_MB * 4):
            f.write(chunk)
            f.flush()
except OSError as exc:
    print("tmp is full:", type(exc).__name__, flush=True)
with open("big.bin", "wb") as f:  # never more than 4 quotas: the test must not fill the host
    for _ in range(DISK_MB * 4):
        f.write(chunk)
        f.flush()
print("wrote it all", flush=True)
"""
FLOOD = """import os, sys
sys.stdout.write("x" * (8 << 20) + "\\n")  # one line of 8 MB
for i in range(FLOOD_LINES):
    print(f"flood {i}")
sys.stdout.flush()
os.makedirs("out", exist_ok=True)
open("out/flood.csv", "w").write("a\\n1\\n")
"""
FOREVER = "import time\nprint('sleeping', flush=True)\nwhile True:\n    time.sleep(60)\n"
MEMORY_HOG = "hog = bytearray(1 << 30)\nprint('allocated', flush=True)\n"
ORDINARY = (
    "import os\nos.makedirs('out', exist_ok=True)\nopen('out/ok.csv', 'w').write('a\\n1\\n')\n"
)
ACTIONS = {
    "snoop": ("snoop.py", "out/snoop.json"),
    "forkbomb": ("forkbomb.py", "out/forkbomb.csv"),
    "filldisk": ("filldisk.py", "out/filldisk.csv"),
    "flood": ("flood.py", "out/flood.csv"),
    "forever": ("forever.py", "out/forever.csv"),
    "memoryhog": ("memoryhog.py", "out/memoryhog.csv"),
    "ordinary": ("ordinary.py", "out/ok.csv"),
}


def repository(site) -> dict[str, str]:
    text = 'version: "5"\nactions:\n'
    for action, (script, output) in ACTIONS.items():
        text += f"  {action}:\n    run: python:v2 {script}\n"
        text += f"    outputs: {{highly_sensitive: {{o: {output}}}}}\n"
    port = site.world.base_url.split(":")[2].split("/")[0]
    snoop = (
        SNOOP.replace("HOST_THEIRS", str(site.data / "theirs" / "rows.csv"))
        .replace("HOST_MINE", str(site.data / "mine" / "rows.csv"))
        .replace("HOST_SITE", str(site.site))
        .replace("HOST_OUTSIDE", str(site.outside))
        .replace("PORT", port)
    )
    fill = FILL_DISK.replace("TMP_MB", str(TMP_MB)).replace("DISK_MB", str(DISK_MB))
    return {
        "project.yaml": text,
        "datasets.yaml": "version: 1\nactions:\n  snoop: [mine]\n",
        "snoop.py": snoop,
        "forkbomb.py": FORK_BOMB,
        "filldisk.py": fill,
        "flood.py": FLOOD.replace("FLOOD_LINES", str(FLOOD_LINES)),
        "forever.py": FOREVER,
        "memoryhog.py": MEMORY_HOG,
        "ordinary.py": ORDINARY,
    }


def test_hostile_jobs_are_contained_and_the_runner_goes_on(site, request):
    from jupyter_ext.runner.lines import MAX_LINE_BYTES

    site.dataset("mine", ROWS, approved_for=["sample-study"])
    site.dataset("theirs", ROWS.replace("4", "9"), approved_for=["other-study"])
    site.repository("hostile", repository(site))
    executor = executor_with(
        "docker",
        request,
        time_limit=TIME_LIMIT,
        memory_mb=MEMORY_MB,
        pids_limit=PIDS,
        tmp_mb=TMP_MB,
        grace=0.2,
    )
    runner = site.runner(executor, log_cap=LOG_CAP, job_disk_mb=DISK_MB)
    watch = site.watch()
    with runner:
        hostile = [site.submit("hostile", [action]) for action in ACTIONS if action != "ordinary"]
        assert [answer.status_code for answer in hostile] == [201] * len(hostile), [
            answer.text for answer in hostile
        ]
        done = {}
        for answer in hostile:
            (job,) = site.wait(answer.json()["id"])["jobs"]
            done[job["action"]] = job
        alive = runner.thread.is_alive() and not runner.task.done()
        after = site.run("hostile", ["ordinary"])
    assert alive, "the runner stopped"
    assert after is not None and after["jobs"][0]["state"] == "succeeded", after
    state = {action: (job["state"], job["status_message"]) for action, job in done.items()}

    # reads only what it was leased, writes only its own folder (and its /tmp)
    assert state["snoop"][0] == "succeeded", state
    seen = json.loads((site.site / "workspaces" / "hostile" / "out" / "snoop.json").read_text())
    assert seen.pop("datasets given") == ["mine"] and seen.pop("mine") == ROWS
    assert seen.pop("write /tmp") == "allowed"
    assert {name: outcome for name, outcome in seen.items() if outcome == "allowed"} == {}, seen

    assert state["forkbomb"][0] == "failed", state
    assert state["filldisk"][0] == "failed" and f"limit of {DISK_MB} MB" in state["filldisk"][1]
    assert state["forever"] == (
        "failed",
        f"stopped: it ran longer than its limit of {TIME_LIMIT} s",
    )
    assert state["memoryhog"][0] == "failed" and f"{MEMORY_MB} MB" in state["memoryhog"][1]

    # the flood: a huge line is cut on the site, and the log that leaves is capped
    assert state["flood"][0] == "succeeded", state
    lines = (
        site.world.client("dev")
        .get(f"jobs/{done['flood']['identifier']}/logs", params={"limit": 10_000})
        .json()
    )
    assert len(lines) <= LOG_CAP + 1, len(lines)
    assert lines[0]["text"].startswith("x" * 1000) and "line cut" in lines[0]["text"]
    assert max(len(line["text"].encode()) for line in lines) <= MAX_LINE_BYTES + 100
    kept = (site.site / "logs" / f"{done['flood']['identifier']}.log").read_text().splitlines()
    assert kept[0].startswith("x" * 1000) and "line cut on the site" in kept[0]
    assert len(kept[0].encode()) <= MAX_LINE_BYTES + 100 and kept[-1] == f"flood {FLOOD_LINES - 1}"

    assert watch.changes() == []
    messages = site.status_messages()
    assert not site.leaks(messages), messages
    leftover = executor.docker.containers.list(all=True, filters={"label": "jupyter-ext.job"})
    ours = {job["identifier"] for job in done.values()}
    assert not [c.name for c in leftover if c.labels.get("jupyter-ext.job") in ours]


def test_a_job_whose_log_still_drains_at_its_time_limit_is_reported_by_the_runner(site, request):
    """The container has ended, its 100,000 lines are still coming through Docker when the
    time limit passes: the runner still reports the job's end itself (not the job server
    after its lease expires), lets go of the job's folder, and runs the next job."""
    flood = FLOOD.replace("FLOOD_LINES", "100_000").replace('"x" * (8 << 20)', '"x"')
    site.repository("hostile", {**repository(site), "flood.py": flood})
    executor = executor_with("docker", request, time_limit=3, grace=0.2)
    with site.runner(executor, log_cap=LOG_CAP) as runner:
        (job,) = site.run("hostile", ["flood"], timeout=300)["jobs"]
        after = site.run("hostile", ["ordinary"])
        alive = runner.thread.is_alive() and not runner.task.done()
    assert "stopped reporting" not in job["status_message"], job
    assert job["state"] == "succeeded" or "limit of 3 s" in job["status_message"], job
    assert alive and after["jobs"][0]["state"] == "succeeded", after
    with open("/proc/mounts") as mounts:
        assert str(site.site) not in mounts.read()  # no job folder left mounted
