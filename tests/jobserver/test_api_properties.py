"""Property-based tests of the whole HTTP API from its own OpenAPI schema (schemathesis).

For every operation, generated requests, valid and not, as an administrator and
as a project developer (runner operations: as a runner): none may make the
server fail with a 5xx. The stream and the long-poll, held open by design, are
tested in test_live.py.
"""

from __future__ import annotations

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from .conftest import build_world
from .harness import JobServer

EXAMPLES = 8
HELD_OPEN = ("/events", "/runner/poll")


def fuzz(operation, root: str, tokens: list[str], http: requests.Session) -> list[str]:
    """Requests generated for one operation; the 5xx answers, described."""
    failures: list[str] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        for token in tokens:
            headers = {"Authorization": f"Bearer {token}"}
            response = case.call(base_url=root, session=http, timeout=30, headers=headers)
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} -> "
                    f"{response.status_code}: {response.text[:200]}"
                )

    check()
    return failures


def test_no_generated_request_makes_the_server_fail(db_url, tmp_path):
    world = build_world(JobServer(db_url, tmp_path), tmp_path)
    http = requests.Session()
    try:
        world.client("dev").post(
            "job-requests",
            json={"workspace": "sample", "backend": "tpp", "actions": ["make_table"]},
        )
        schema = schemathesis.openapi.from_url(f"{world.base_url}openapi.json")
        root = world.base_url.removesuffix("/api/v1/")
        users = [world.tokens["admin"], world.tokens["dev"]]
        failures: list[str] = []
        operations = [r.ok() for r in schema.get_all_operations()]
        for operation in operations:
            if not operation.path.endswith(HELD_OPEN):
                runner = "/runner/" in operation.path
                failures += fuzz(operation, root, [world.runner_token] if runner else users, http)
        assert len(operations) >= 55
        assert not failures, "\n".join(failures[:20])
    finally:
        http.close()
        world.close()
