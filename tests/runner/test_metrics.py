"""Metrics of a real job server and a real runner, scraped before and after a job runs."""

from __future__ import annotations

import socket

import httpx
import pytest

from jupyter_ext.runner.app import RunnerApp
from jupyter_ext.runner.metrics import RunnerMetrics, serve

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer
from ..jobserver.mocking import MockJobServerApp
from ..jobserver.test_metrics import TOKEN, requests_of, samples, scrape
from .test_local_runner import RunnerThread, wait_for


def test_both_figures_move_when_a_job_runs(tmp_path):
    settings = MockJobServerApp(metrics_token=TOKEN)
    world = build_world(
        JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path, settings), tmp_path
    )
    world.root = world.base_url.removesuffix("api/v1/")
    metrics = RunnerMetrics()
    port, stop = serve(metrics, 0)
    site = f"http://127.0.0.1:{port}/metrics"
    try:
        with RunnerThread(world, tmp_path / "site", metrics=metrics):
            server_before = samples(scrape(world).text)
            runner_before = samples(httpx.get(site).text)
            body = {"workspace": "sample", "backend": "tpp", "actions": ["generate_dataset"]}
            request = world.client("dev").post("job-requests", json=body).json()
            done = wait_for(world, request["id"])
            assert [j["state"] for j in done["jobs"]] == ["succeeded"], done["jobs"]
            server_after = samples(scrape(world).text)
            runner_after = samples(httpx.get(site).text)
    finally:
        stop()
        world.close()

    tpp = (("backend", "tpp"),)
    succeeded = (("backend", "tpp"), ("state", "succeeded"))
    assert server_before.get(("jupyter_ext_jobs", succeeded), 0) == 0
    assert server_after[("jupyter_ext_jobs", succeeded)] == 1
    assert requests_of(server_after, "/api/v1/job-requests", "201", "POST") == 1
    polls = "/api/v1/runner/poll"
    assert requests_of(server_after, polls, method="POST") > requests_of(
        server_before, polls, method="POST"
    )
    lines = server_after[("jupyter_ext_log_received_lines_total", tpp)]
    assert lines > server_before.get(("jupyter_ext_log_received_lines_total", tpp), 0)
    assert server_after[("jupyter_ext_runners_online", ())] == 1

    assert runner_before[("jupyter_ext_runner_jobs_running", ())] == 0
    finished = ("jupyter_ext_runner_jobs_finished_total", (("state", "succeeded"),))
    assert runner_before.get(finished, 0) == 0 and runner_after[finished] == 1
    assert runner_after[("jupyter_ext_runner_leases_received_total", ())] == 1
    shipped = runner_after[("jupyter_ext_runner_log_shipped_lines_total", ())]
    assert shipped == lines  # every line the runner shipped, the job server received
    assert runner_after[("jupyter_ext_runner_log_shipped_bytes_total", ())] > shipped
    assert runner_after[("jupyter_ext_runner_heartbeats_failed_total", ())] == 0


def test_the_runner_serves_on_loopback_only_and_not_by_default(tmp_path):
    assert RunnerApp().metrics_port == 0
    metrics = RunnerMetrics()
    port, stop = serve(metrics, 0)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/metrics").status_code == 200
        outside = _an_address_other_than_loopback()
        if outside is None:
            pytest.skip("this machine has no address but loopback")
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://{outside}:{port}/metrics", timeout=2)
    finally:
        stop()


def test_two_runners_in_one_process_count_apart():
    one, two = RunnerMetrics(), RunnerMetrics()
    one.job_finished("failed")
    assert (
        one.registry.get_sample_value("jupyter_ext_runner_jobs_finished_total", {"state": "failed"})
        == 1
    )
    assert (
        two.registry.get_sample_value("jupyter_ext_runner_jobs_finished_total", {"state": "failed"})
        is None
    )


def _an_address_other_than_loopback() -> str | None:
    """This machine's address on its way out (no packet is sent), if it has one."""
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # TEST-NET-1: routing is asked, nothing leaves
        address = probe.getsockname()[0]
    except OSError:
        return None
    finally:
        probe.close()
    return None if address.startswith("127.") else address
