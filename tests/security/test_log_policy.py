"""Attack: a job's log as a way out of the site.

The backend's log policy is the site's: the runner keeps to `c.RunnerApp.log_policy` and,
when the job server says the backend's is stricter, to that (a policy set on the job
server alone is not undone by a runner sending every line). Redaction sees through the
disguises of a plain pattern (case, escapes, invisible characters, full-width forms); the
job server's own `redacted` masks what it receives. A line of any length costs the runner
its length, is cut on the site, and leaves the runner running other jobs.
"""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select

from jupyter_ext.jobserver import orm
from jupyter_ext.runner.executors import LocalExecutor
from jupyter_ext.runner.policy import LogPolicy

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer, make_repo
from ..runner.test_local_runner import RunnerThread, submit, wait_for

SECRET = "NHS1234567890"
DISGUISES = {
    "plain": "NHS1234567890",
    "lower case": "nhs1234567890",
    "full-width": "".join(chr(ord(c) + 0xFEE0) for c in "NHS1234567890"),
    "zero-width space": "NHS12345\u200b67890",
    "ANSI colours": "\x1b[1;31mNHS\x1b[0m1234567890",
    "soft hyphen and BOM": "NHS\u00ad123456\ufeff7890",
    "bidi override": "\u202eNHS1234567890\u202c",
}
PROJECT = """version: "5"
actions:
  talk:
    run: python:v2 talk.py
    outputs: {highly_sensitive: {x: out/x.txt}}
  huge:
    run: python:v2 huge.py
    outputs: {highly_sensitive: {x: out/huge.txt}}
  after:
    run: python:v2 after.py
    outputs: {highly_sensitive: {x: out/after.txt}}
"""
TALK = (
    "import json, pathlib, sys\n"
    "for name, text in json.loads(pathlib.Path('disguises.json').read_text()).items():\n"
    "    print(f'{name}: patient {text} has 12 visits, record AB12CD34', flush=True)\n"
    "pathlib.Path('out').mkdir()\npathlib.Path('out/x.txt').write_text('x')\n"
)
HUGE = (
    "import os, pathlib\n"
    "os.write(1, b'start ' + b'x' * (50 * 1024 * 1024) + b'\\nafter\\n')\n"
    "pathlib.Path('out').mkdir()\npathlib.Path('out/huge.txt').write_text('x')\n"
)
AFTER = "import pathlib\nprint('still running')\npathlib.Path('out').mkdir()\n" + (
    "pathlib.Path('out/after.txt').write_text('x')\n"
)


def talking_world(tmp_path, server_policy: str = "full"):
    import json

    source = tmp_path / "talk-src"
    source.mkdir()
    files = {"project.yaml": PROJECT, "talk.py": TALK, "huge.py": HUGE, "after.py": AFTER}
    files["disguises.json"] = json.dumps(DISGUISES)
    for name, text in files.items():
        (source / name).write_text(text)
    world = build_world(JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path), tmp_path)
    make_repo(tmp_path / "repos" / "talk", source)
    world.workspace("sample-study", "talk", tmp_path / "repos" / "talk")
    set_server_policy(world, server_policy)
    return world


def set_server_policy(world, policy: str) -> None:
    with world.factory() as session:
        backend = session.scalar(select(orm.Backend).where(orm.Backend.slug == "tpp"))
        backend.log_policy = policy
        session.commit()


def shipped(world, identifier: str) -> list[str]:
    lines = world.client("dev").get(f"jobs/{identifier}/logs", params={"limit": 10000}).json()
    return [line["text"] for line in lines]


def sent_count(site, identifier: str) -> int:
    """How many lines the runner itself sent (its cursor beside the site's log)."""
    return int((site / "logs" / f"{identifier}.sent").read_text().split()[0])


def run_talk(world, site, policy: LogPolicy) -> tuple[dict, list[str], LogPolicy]:
    with RunnerThread(world, site, log_policy=policy):
        job = wait_for(world, submit(world, "talk", "talk")["id"])["jobs"][0]
    return job, shipped(world, job["identifier"]), policy


def test_a_status_policy_on_the_job_server_alone_keeps_every_line_on_the_site(tmp_path):
    world = talking_world(tmp_path, server_policy="status")
    try:
        job, lines, policy = run_talk(world, tmp_path / "site", LogPolicy("full"))
    finally:
        world.close()
    assert job["state"] == "succeeded", job
    assert policy.mode == "status" and not policy.sends_job_text
    assert lines == [] and sent_count(tmp_path / "site", job["identifier"]) == 0  # none sent
    on_site = (tmp_path / "site" / "logs" / f"{job['identifier']}.log").read_text()
    assert on_site.count("has 12 visits") == len(DISGUISES)  # the site keeps them all


def test_the_site_policy_holds_whatever_the_job_server_says(tmp_path):
    world = talking_world(tmp_path, server_policy="full")
    try:
        job, lines, policy = run_talk(world, tmp_path / "site", LogPolicy("status"))
    finally:
        world.close()
    assert policy.mode == "status" and lines == []
    assert sent_count(tmp_path / "site", job["identifier"]) == 0


def test_a_redacted_job_server_makes_the_runner_mask_numbers_and_identifiers(tmp_path):
    world = talking_world(tmp_path, server_policy="redacted")
    try:
        _, lines, policy = run_talk(world, tmp_path / "site", LogPolicy("full"))
    finally:
        world.close()
    assert policy.mode == "redacted"
    assert len(lines) == len(DISGUISES), lines
    for line in lines:
        assert "has [number] visits" in line and "record [identifier]" in line, line
        assert not any(ch.isdigit() for ch in line), line


def test_site_patterns_see_through_disguises(tmp_path):
    world = talking_world(tmp_path, server_policy="full")
    try:
        job, lines, _ = run_talk(world, tmp_path / "site", LogPolicy("full", [r"NHS\d{10}"]))
    finally:
        world.close()
    assert len(lines) == len(DISGUISES), lines
    for line, name in zip(lines, DISGUISES, strict=True):
        assert line == f"{name}: patient [redacted] has 12 visits, record AB12CD34", line
    on_site = (tmp_path / "site" / "logs" / f"{job['identifier']}.log").read_text()
    assert all(text in on_site for text in DISGUISES.values())  # kept as printed


def test_the_job_servers_own_redacted_policy_masks_what_a_runner_sends(tmp_path):
    """A runner that sends lines unmasked (an old one, or one configured `full`) to a
    backend whose policy is `redacted` on the job server: the job server masks them."""
    world = talking_world(tmp_path, server_policy="redacted")
    try:
        request = submit(world, "talk", "talk")
        root = world.base_url.removesuffix("/api/v1/")
        token = {"Authorization": f"Bearer {world.runner_token}"}
        with httpx.Client(base_url=f"{root}/api/v1/runner/", headers=token) as runner:
            leases = runner.post("poll", json={"capacity": 1, "wait": 1}).json()
            ident = leases[0]["identifier"]
            texts = [f"patient {text} AB12CD34 seen 3 times" for text in DISGUISES.values()]
            sent = runner.post(f"jobs/{ident}/logs", json={"first_seq": 0, "lines": texts})
        assert sent.status_code == 204, sent.text
        lines = shipped(world, ident)
        assert request["jobs"][0]["identifier"] == ident
    finally:
        world.close()
    assert lines == ["patient [identifier] [identifier] seen [number] times"] * len(DISGUISES)


@pytest.fixture(params=["local", "docker", "slurm"])
def executor(request):
    if request.param == "slurm":
        from ..runner.test_slurm_executor import new_executor

        return new_executor(request.getfixturevalue("slurm_cluster"), memory_mb=512)
    if request.param == "docker":
        request.getfixturevalue("docker_images")
        from jupyter_ext.runner.executors.docker import DockerExecutor

        return DockerExecutor()
    return LocalExecutor()


def test_a_50_mb_line_is_cut_on_the_site_and_the_runner_runs_on(tmp_path, executor):
    world = talking_world(tmp_path)
    site = tmp_path / "site"
    try:
        with RunnerThread(world, site, executor=executor):
            huge = wait_for(world, submit(world, "talk", "huge")["id"], timeout=180)["jobs"][0]
            after = wait_for(world, submit(world, "talk", "after")["id"])["jobs"][0]
        lines = shipped(world, huge["identifier"])
        after_lines = shipped(world, after["identifier"])
    finally:
        world.close()
    assert huge["state"] == "succeeded" and after["state"] == "succeeded", (huge, after)
    on_site = (site / "logs" / f"{huge['identifier']}.log").read_bytes().split(b"\n")
    cut, rest = on_site[0], on_site[1:]
    dropped = 50 * 1024 * 1024 + len("start ") - 64 * 1024
    assert cut.startswith(b"start xxx") and len(cut) < 65 * 1024
    assert cut.endswith(f"[line cut on the site: {dropped:,} more bytes dropped]".encode())
    assert rest == [b"after", b""]  # the next line intact
    # the job server keeps the start of the cut line, saying it cut it too, then the next
    assert len(lines) == 2 and lines[0].startswith("start xxx") and lines[1] == "after"
    assert lines[0].endswith("more characters]") and len(lines[0]) <= 10_000
    assert after_lines == ["still running"]
