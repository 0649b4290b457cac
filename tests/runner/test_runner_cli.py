"""`jupyter ext jobserver` and `jupyter ext runner` as real processes, as an admin sets them up."""

from __future__ import annotations

import signal
import subprocess
import time

import httpx

from ..jobserver.harness import make_repo
from ..jobserver.test_jobserver_cli import SCRIPT, environment, free_port, jupyter_ext, new_key, ok


def wait(condition, what: str, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if result := condition():
                return result
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_backend_runner_started_from_the_command_line_runs_a_job(tmp_path):
    db = f"sqlite:///{tmp_path / 'js.sqlite'}"
    env = environment(crypt_key=new_key())
    ok(jupyter_ext("jobserver", "--upgrade-db", "--db-url", db, cwd=tmp_path, env=env))
    ok(
        jupyter_ext(
            "admin",
            "add-user",
            "ada",
            "--role",
            "core_developer",
            "--db-url",
            db,
            cwd=tmp_path,
            env=env,
        )
    )
    token = ok(jupyter_ext("admin", "token", "ada", "--db-url", db, cwd=tmp_path, env=env)).strip()
    ok(jupyter_ext("admin", "add-org", "uni", "--db-url", db, cwd=tmp_path, env=env))
    runner_token = ok(
        jupyter_ext(
            "admin", "add-backend", "tpp", "--org", "uni", "--db-url", db, cwd=tmp_path, env=env
        )
    ).strip()
    (tmp_path / "runner.token").write_text(runner_token)
    repo = tmp_path / "repos" / "study"
    make_repo(repo)
    port = free_port()
    server = subprocess.Popen(
        [
            str(SCRIPT),
            "jobserver",
            "--ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--db-url",
            db,
            f"--JobServerApp.local_repo_roots={tmp_path / 'repos'}",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    runner = None
    runner_log = tmp_path / "runner.log"
    log_file = runner_log.open("w")
    try:
        api = httpx.Client(
            base_url=f"http://127.0.0.1:{port}/api/v1/",
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        )
        wait(lambda: api.get("me").status_code == 200, "the job server")
        api.post("projects", json={"org": "uni", "name": "Study"}).raise_for_status()
        api.post(
            "projects/study/members", json={"username": "ada", "roles": ["project_developer"]}
        ).raise_for_status()
        api.post(
            "workspaces",
            json={"name": "study", "project": "study", "repo": str(repo), "branch": "main"},
        ).raise_for_status()
        runner = subprocess.Popen(
            [
                str(SCRIPT),
                "runner",
                "--server",
                f"http://127.0.0.1:{port}",
                "--backend",
                "tpp",
                "--token-file",
                str(tmp_path / "runner.token"),
                "--workdir",
                str(tmp_path / "site"),
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
        body = {"workspace": "study", "backend": "tpp", "actions": ["derive_measures"]}
        request = api.post("job-requests", json=body).json()
        done = wait(
            lambda: (
                (r := api.get(f"job-requests/{request['id']}").json())["state"]
                in ("succeeded", "failed")
                and r
            ),
            "the job request",
        )
        assert [j["state"] for j in done["jobs"]] == ["succeeded", "succeeded"], done["jobs"]
        backend = api.get("backends/tpp").json()
        assert backend["online"] and backend["executor"].startswith("local (no isolation")
        api.close()
    finally:
        for process in (runner, server):
            if process is not None:
                process.send_signal(signal.SIGTERM)
                process.wait(15)
        log_file.close()
    assert runner.returncode in (0, -signal.SIGTERM), runner_log.read_text()
    assert token not in runner_log.read_text() and runner_token not in runner_log.read_text()


def test_a_runner_with_a_wrong_token_stops_saying_what_to_fix(tmp_path):
    from ..jobserver.conftest import build_world
    from ..jobserver.harness import JobServer

    world = build_world(JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path), tmp_path)
    (tmp_path / "runner.token").write_text("jxr_not-the-token")
    try:
        done = jupyter_ext(
            "runner",
            "--server",
            world.base_url.removesuffix("/api/v1/"),
            "--token-file",
            str(tmp_path / "runner.token"),
            "--workdir",
            str(tmp_path / "site"),
            cwd=tmp_path,
            env=environment(),
        )
    finally:
        world.close()
    assert done.returncode == 1
    assert "refused this runner" in done.stderr and "--token-file" in done.stderr
    assert "jxr_not-the-token" not in done.stderr
