"""A hostile caller: schemathesis over every operation of the job server, as each role.

Requests generated from the job server's own OpenAPI schema (valid and not, a few
per operation, from a fixed seed) go to the real server under uvicorn, as no one,
a project developer, a project coordinator, an output checker, an output
publisher, an administrator and a runner. Whatever they send:
- the server never fails (no 5xx);
- every error is `application/problem+json` with a sentence;
- no one gets a success the permission table does not grant them for that
  operation (its `x-permission` and `x-scope`): a runner token only on runner
  operations, a person's token never there, no one signed out anywhere; a
  caller with no token is told 401 unless the request itself is malformed.
"""

from __future__ import annotations

from collections import Counter

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from jupyter_ext.jobserver.permissions import Permission, granted

EXAMPLES = 3
HELD_OPEN = ("/events", "/runner/poll")  # a stream and a long-poll: asked only by those refused
# people of the world (tests/security/harness.Site): their global roles, their project roles
PEOPLE = {
    "developer": ("dev", [], ["project_developer"]),
    "coordinator": ("coord", [], ["project_coordinator"]),
    "checker": ("checker", ["output_checker"], []),
    "publisher": ("publisher", ["output_publisher"], []),
    "admin": ("admin", ["core_developer"], []),
}
MALFORMED = {400, 404, 405, 413, 415, 422}  # what a request can earn before anyone is asked


def may(role: str, operation) -> bool:
    """Whether the permission table could ever let `role` succeed at `operation`."""
    extra = operation.definition.raw
    permission, scope = extra.get("x-permission"), extra.get("x-scope", "global")
    if role == "anonymous" or permission is None:
        return False
    if permission == "runner_token":
        return role == "runner"
    if role == "runner":
        return False
    _, global_roles, project_roles = PEOPLE[role]
    return granted(
        global_roles, Permission(permission), project_roles if scope in ("project", "owner") else ()
    )


def content_type(response) -> str:
    """The answer's media type (schemathesis keeps each header as a list of values)."""
    headers = {name.lower(): value for name, value in response.headers.items()}
    value = headers.get("content-type", "")
    return value[0] if isinstance(value, list) else value


def judge(role: str, operation, case, response) -> str | None:
    """What is wrong with this answer, or None."""
    status, kind = response.status_code, content_type(response)
    where = f"{role}: {case.method} {case.formatted_path} -> {status}"
    if status >= 500:
        return f"{where}: {response.text[:200]}"
    if status >= 400:
        if not kind.startswith("application/problem+json"):
            return f"{where}: an error as {kind!r}, not application/problem+json"
        detail = response.json().get("detail")
        if not isinstance(detail, str) or not detail.strip():
            return f"{where}: an error without a sentence: {response.text[:200]}"
    if status < 400 and not may(role, operation):
        return f"{where}: a success the permission table does not grant"
    if role == "anonymous" and status not in {401, *MALFORMED}:
        return f"{where}: no token, yet not 401: {response.text[:200]}"
    return None


def fuzz(
    operation, root: str, callers: dict[str, dict], http: requests.Session, seen: Counter
) -> list[str]:
    """A few generated requests to one operation, each sent as every caller; the faults.
    `seen` counts the answers by caller and status."""
    faults: list[str] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def check(case):
        for role, headers in callers.items():
            response = case.call(base_url=root, session=http, timeout=30, headers=headers)
            seen[role, response.status_code] += 1
            fault = judge(role, operation, case, response)
            if fault:
                faults.append(fault)

    check()
    return faults


def test_every_operation_as_every_role(site):
    world = site.world
    world.client("dev").post(
        "job-requests", json={"workspace": "sample", "backend": "tpp", "actions": ["make_table"]}
    ).raise_for_status()
    tokens = {role: world.tokens[name] for role, (name, _, _) in PEOPLE.items()}
    tokens |= {"runner": world.runner_token}
    callers = {"anonymous": {}} | {
        role: {"Authorization": f"Bearer {token}"} for role, token in tokens.items()
    }
    schema = schemathesis.openapi.from_url(f"{world.base_url}openapi.json")
    root = world.base_url.removesuffix("/api/v1/")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 80, len(operations)
    faults: list[str] = []
    seen: Counter = Counter()
    with requests.Session() as http:
        for operation in operations:
            asked = callers
            if operation.path.endswith(HELD_OPEN):  # held open for those it serves
                asked = {r: h for r, h in callers.items() if not may(r, operation)}
            faults += fuzz(operation, root, asked, http, seen)
    assert not faults, f"{len(faults)} faults:\n" + "\n".join(sorted(set(faults))[:40])
    # the callers really were who they say: each person and the runner succeeded somewhere
    succeeded = {role for (role, status), _ in seen.items() if status < 300}
    assert succeeded == set(callers) - {"anonymous"}, seen
    assert seen["anonymous", 401] >= len(operations), seen
