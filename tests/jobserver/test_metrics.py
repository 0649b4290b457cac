"""`GET /metrics`: who may read it, what it says, and that each app counts its own.

The endpoint speaks Prometheus's text format, outside the API's OpenAPI schema, so the
permission walk does not see it: this file walks it with every global role instead.
"""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from jupyter_ext.jobserver.permissions import Permission, granted
from jupyter_ext.schema.states import Role

from .harness import JobServer, leased_job
from .mocking import MockJobServerApp

TOKEN = "metrics-token-for-tests"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    """Every sample of an exposition: (name, sorted labels) -> value."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def scrape(world, token: str | None = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.get(world.root + "metrics", headers=headers, timeout=30)


def requests_of(figures: dict, route: str, code: str = "200", method: str = "GET") -> float:
    labels = (("code", code), ("method", method), ("route", route))
    return figures.get(("jupyter_ext_http_request_duration_seconds_count", labels), 0.0)


@pytest.fixture
def metered(db_url, tmp_path):
    """The world of `build_world` on a job server with a metrics token, under a service's
    base URL (as the hub's services are)."""
    from .conftest import build_world

    settings = MockJobServerApp(base_url="/services/jobserver/", metrics_token=TOKEN)
    server = JobServer(db_url, tmp_path, settings)
    server.start()
    server.base_url = server.base_url.removesuffix("api/v1/") + "services/jobserver/api/v1/"
    server.root = server.base_url.removesuffix("api/v1/")
    world = build_world(server, tmp_path)
    yield world
    world.close()


def test_only_the_token_and_metrics_view_may_read(metered):
    world = metered
    assert scrape(world, None).status_code == 401
    assert scrape(world, TOKEN + "x").status_code == 401
    assert scrape(world, TOKEN[:-1]).status_code == 401
    assert scrape(world, world.runner_token).status_code == 401  # a runner's token is not one
    for role in Role:
        name = f"metrics-{role.value}".replace("_", "-")
        token = world.user(name, [role.value])
        status = scrape(world, token).status_code
        allowed = granted([role.value], Permission.METRICS_VIEW)
        assert status == (200 if allowed else 403), (role, status)
    assert scrape(world, world.tokens["dev"]).status_code == 403
    response = scrape(world)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "metrics?" not in response.text and TOKEN not in response.text


def test_requests_by_route_template_and_state_figures_move(metered):
    world = metered
    before = samples(scrape(world).text)
    dev = world.client("dev")
    dev.get("jobs").raise_for_status()
    assert dev.get("jobs/nosuchjob").status_code == 404
    identifier = leased_job(world)  # one job request, its job leased (running)
    body = {"first_seq": 0, "lines": ["héllo", "world"]}
    runner = world.client(token=world.runner_token)
    runner.post(f"runner/jobs/{identifier}/logs", json=body).raise_for_status()
    after = samples(scrape(world).text)

    assert requests_of(after, "/api/v1/jobs") == requests_of(before, "/api/v1/jobs") + 1
    assert requests_of(after, "/api/v1/jobs/{identifier}", "404") >= 1
    assert not [key for key in after if "nosuchjob" in str(key)], "no raw path in a label"
    assert not [key for key in after if identifier in str(key)], "no id in a label"
    tpp = (("backend", "tpp"),)
    assert after[("jupyter_ext_jobs", (("backend", "tpp"), ("state", "running")))] == 1
    running = (("backend", "tpp"), ("state", "running"))
    assert after[("jupyter_ext_job_requests_unfinished", running)] == 1
    assert after[("jupyter_ext_log_received_lines_total", tpp)] == 2
    assert after[("jupyter_ext_log_received_bytes_total", tpp)] == len("héllo".encode()) + 5
    assert after[("jupyter_ext_runners_online", ())] == 1  # its poll was a call
    assert after[("jupyter_ext_queued_jobs", tpp)] == 0
    assert after[("jupyter_ext_sse_subscribers", ())] == 0

    body = {"workspace": "sample", "backend": "tpp", "actions": ["derive_measures"]}
    dev.post("job-requests", json=body).raise_for_status()  # waits for the running one
    queued = samples(scrape(world).text)
    assert queued[("jupyter_ext_queued_jobs", tpp)] == 1
    assert queued[("jupyter_ext_queue_oldest_age_seconds", tpp)] >= 0
    pending = (("backend", "tpp"), ("state", "pending"))
    assert queued[("jupyter_ext_job_requests_unfinished", pending)] == 1


def test_two_apps_in_one_process_count_apart(tmp_path):
    first = JobServer(f"sqlite:///{tmp_path / 'a.sqlite'}", tmp_path, MockJobServerApp())
    second = JobServer(f"sqlite:///{tmp_path / 'b.sqlite'}", tmp_path, MockJobServerApp())
    try:
        for server in (first, second):
            server.start()
            server.root = server.base_url.removesuffix("api/v1/")
            server.user("admin", ["core_developer"])
        for _ in range(3):
            first.client("admin").get("me").raise_for_status()
        second.client("admin").get("me").raise_for_status()
        one = samples(scrape(first, first.tokens["admin"]).text)
        two = samples(scrape(second, second.tokens["admin"]).text)
        assert requests_of(one, "/api/v1/me") == 3
        assert requests_of(two, "/api/v1/me") == 1
        assert first.app.state.metrics.registry is not second.app.state.metrics.registry
    finally:
        first.close()
        second.close()


def test_anyone_reads_them_when_authenticate_metrics_is_off(tmp_path):
    server = JobServer(
        f"sqlite:///{tmp_path / 'open.sqlite'}",
        tmp_path,
        MockJobServerApp(authenticate_metrics=False),
    )
    try:
        server.start()
        server.root = server.base_url.removesuffix("api/v1/")
        assert scrape(server, None).status_code == 200
    finally:
        server.close()


def wait_for_figure(world, key: tuple, token: str, value: float | None = None) -> float:
    """The figure once it is there (and is `value`, if given): the sweeper, the sender and a
    closing stream go at their own pace."""
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = samples(scrape(world, token).text).get(key)
        if found is not None and value in (None, found):
            return found
        time.sleep(0.1)
    raise AssertionError(f"{key} never appeared (or was never {value})")


def test_expired_leases_and_failed_notifications_are_counted(tmp_path):
    from traitlets.config import Config

    from .conftest import build_world

    settings = MockJobServerApp(
        lease_seconds=0.2,
        sweep_every=0.1,
        config=Config({"Notifier": {"webhook_url": "http://127.0.0.1:9/", "interval": 0.1}}),
    )
    world = build_world(
        JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path, settings), tmp_path
    )
    try:
        world.root = world.base_url.removesuffix("api/v1/")
        leased_job(world)  # and never renewed: its lease runs out, it fails, a webhook is due
        admin = world.tokens["admin"]
        expired = ("jupyter_ext_leases_expired_total", (("outcome", "failed"),))
        assert wait_for_figure(world, expired, admin) == 1
        failed = ("jupyter_ext_notification_failures_total", (("channel", "webhook"),))
        assert wait_for_figure(world, failed, admin) >= 1
    finally:
        world.close()


def test_live_streams_and_releases_awaiting_review(metered):
    from sqlalchemy import select

    from jupyter_ext.jobserver import orm

    world = metered
    identifier = leased_job(world)
    with world.factory() as session:
        job = session.scalar(select(orm.Job).where(orm.Job.identifier == identifier))
        dev = session.scalar(select(orm.User).where(orm.User.username == "dev"))
        session.add(
            orm.Release(
                workspace_id=job.workspace_id,
                backend_id=job.backend_id,
                created_by_id=dev.id,
                groups={"g": {"context": "c", "disclosure_control": "d"}},
            )
        )
        session.commit()
    key = ("jupyter_ext_sse_subscribers", ())
    with world.client("dev").stream("GET", "events") as stream:
        lines = stream.iter_lines()  # held: a dropped iterator closes the response
        next(lines)  # the stream's first comment: it is subscribed by then
        assert samples(scrape(world).text)[key] == 1
    tpp = (("backend", "tpp"),)
    figures = samples(scrape(world).text)
    assert figures[("jupyter_ext_releases_awaiting_review", tpp)] == 1
    assert figures[("jupyter_ext_release_review_oldest_age_seconds", tpp)] >= 0
    assert wait_for_figure(world, key, TOKEN, 0) == 0  # closed: unsubscribed
