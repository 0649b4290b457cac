"""Walk every endpoint with every role, a project member of each kind, an outsider, no one.

Each route says in its OpenAPI entry which permission it asks (`x-permission`)
and whether inside a project (`x-scope`). Allowed means the answer is neither
401 nor 403; the walk compares that with the permission table for every caller,
and fails if a route is missing from the sample requests below, so a new
endpoint cannot slip past it.
"""

from __future__ import annotations

import pytest

from jupyter_ext.jobserver.permissions import Permission, granted
from jupyter_ext.schema.states import PROJECT_ROLES, Role

from .harness import make_repo

GLOBAL_CALLERS = {f"g-{role.value}".replace("_", "-"): [role.value] for role in Role}
MEMBER_CALLERS = {f"m-{role.value}".replace("_", "-"): [role.value] for role in PROJECT_ROLES}


@pytest.fixture
def walk_world(server, tmp_path):
    server.runner_token = server.backend("tpp")
    server.backend("spare")
    server.org("uni", ["tpp", "spare"])
    for name, roles in GLOBAL_CALLERS.items():
        server.user(name, roles)
    for name in [*MEMBER_CALLERS, "outsider", "victim", "orgmate"]:
        server.user(name)
    members = {name: roles for name, roles in MEMBER_CALLERS.items()}
    server.project("uni", "Walk study", {**members, "victim": ["project_collaborator"]})
    make_repo(tmp_path / "repos" / "walk")
    server.workspace("walk-study", "walk", tmp_path / "repos" / "walk")
    with server.factory() as session:  # an org member to remove
        from sqlalchemy import select

        from jupyter_ext.jobserver import orm

        org = session.scalar(select(orm.Org))
        user = session.scalar(select(orm.User).where(orm.User.username == "orgmate"))
        session.add(orm.OrgMember(org_id=org.id, user_id=user.id))
        session.commit()
    dev = server.client("m-project-developer")
    request = dev.post("job-requests", json={"workspace": "walk", "backend": "tpp",
                                             "actions": ["make_table"]}).json()  # fmt: skip
    server.job_request = request["id"]
    server.job = request["jobs"][0]["identifier"]
    return server


def samples(world) -> dict[tuple[str, str], dict]:
    """One request per route, aimed so that repeating it does not break the others."""
    jr, job = world.job_request, world.job
    body_request = {"workspace": "walk", "backend": "tpp", "actions": ["make_plot"]}
    return {
        ("GET", "/me"): {},
        ("GET", "/users"): {},
        ("POST", "/users"): {"json": {"username": "newcomer"}},
        ("GET", "/users/{username}"): {"path": "/users/victim"},
        ("PATCH", "/users/{username}"): {"path": "/users/victim", "json": {"roles": []}},
        ("PUT", "/me/github-token"): {"json": {"token": "ghp_" + "x" * 36}},
        ("DELETE", "/me/github-token"): {},
        ("GET", "/me/tokens"): {},
        ("POST", "/me/tokens"): {"json": {"name": "walk"}},
        ("DELETE", "/me/tokens/{token_id}"): {"path": "/me/tokens/999999"},
        ("GET", "/orgs"): {},
        ("POST", "/orgs"): {"json": {"slug": "neworg", "name": "New"}},
        ("GET", "/orgs/{org}"): {"path": "/orgs/uni"},
        ("PATCH", "/orgs/{org}"): {"path": "/orgs/uni", "json": {"name": "Uni"}},
        ("GET", "/orgs/{org}/members"): {"path": "/orgs/uni/members"},
        ("POST", "/orgs/{org}/members"): {
            "path": "/orgs/uni/members",
            "json": {"username": "victim"},
        },
        ("DELETE", "/orgs/{org}/members/{username}"): {"path": "/orgs/uni/members/orgmate"},
        ("POST", "/orgs/{org}/backends"): {
            "path": "/orgs/uni/backends",
            "json": {"backend": "spare"},
        },
        ("DELETE", "/orgs/{org}/backends/{backend}"): {"path": "/orgs/uni/backends/spare"},
        ("GET", "/backends"): {},
        ("POST", "/backends"): {"json": {"slug": "newbackend", "name": "New"}},
        ("GET", "/backends/{backend}"): {"path": "/backends/tpp"},
        ("PATCH", "/backends/{backend}"): {"path": "/backends/spare", "json": {"name": "Spare"}},
        ("POST", "/backends/{backend}/token"): {"path": "/backends/spare/token"},
        ("GET", "/projects"): {},
        ("POST", "/projects"): {"json": {"org": "uni", "name": "Another study"}},
        ("GET", "/projects/{project}"): {"path": "/projects/walk-study"},
        ("PATCH", "/projects/{project}"): {
            "path": "/projects/walk-study",
            "json": {"name": "Walk study"},
        },
        ("GET", "/projects/{project}/members"): {"path": "/projects/walk-study/members"},
        ("POST", "/projects/{project}/members"): {
            "path": "/projects/walk-study/members",
            "json": {"username": "outsider", "roles": ["project_collaborator"]},
        },
        ("PATCH", "/projects/{project}/members/{username}"): {
            "path": "/projects/walk-study/members/victim",
            "json": {"roles": ["project_collaborator"]},
        },
        ("DELETE", "/projects/{project}/members/{username}"): {
            "path": "/projects/walk-study/members/victim"
        },
        ("GET", "/workspaces"): {},
        ("POST", "/workspaces"): {
            "json": {
                "name": "walk-two",
                "project": "walk-study",
                "repo": world.repo_path,
                "branch": "main",
            }
        },
        ("GET", "/workspaces/{workspace}"): {"path": "/workspaces/walk"},
        ("PATCH", "/workspaces/{workspace}"): {
            "path": "/workspaces/walk",
            "json": {"notifications": True},
        },
        ("GET", "/workspaces/{workspace}/actions"): {"path": "/workspaces/walk/actions"},
        ("POST", "/job-requests"): {"json": body_request},
        ("GET", "/job-requests"): {},
        ("GET", "/job-requests/{job_request_id}"): {"path": f"/job-requests/{jr}"},
        ("POST", "/job-requests/{job_request_id}/cancel"): {"path": f"/job-requests/{jr}/cancel"},
        ("GET", "/jobs"): {},
        ("GET", "/jobs/{identifier}"): {"path": f"/jobs/{job}"},
        ("GET", "/jobs/{identifier}/logs"): {"path": f"/jobs/{job}/logs"},
        ("POST", "/jobs/{identifier}/cancel"): {"path": f"/jobs/{job}/cancel"},
        ("GET", "/events"): {"stream": True},
        ("POST", "/runner/poll"): {"json": {"wait": 0}},
        ("POST", "/runner/heartbeat"): {
            "json": {"version": "t", "executor": "local", "capacity": 0}
        },
        ("POST", "/runner/jobs/{identifier}/status"): {
            "path": f"/runner/jobs/{job}/status",
            "json": {"state": "running"},
        },
        ("POST", "/runner/jobs/{identifier}/logs"): {
            "path": f"/runner/jobs/{job}/logs",
            "json": {"first_seq": 0, "lines": []},
        },
        ("POST", "/runner/jobs/{identifier}/outputs"): {
            "path": f"/runner/jobs/{job}/outputs",
            "json": {"outputs": []},
        },
    }


def routes(app) -> dict[tuple[str, str], tuple[str, str]]:
    found = {}
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            found[(method.upper(), path.removeprefix("/api/v1"))] = (
                operation.get("x-permission"),
                operation.get("x-scope"),
            )
    return found


def call(client, method: str, path: str, sample: dict) -> int:
    url = sample.get("path", path).lstrip("/")
    if sample.get("stream"):
        with client.stream(method, url) as response:
            return response.status_code
    return client.request(method, url, json=sample.get("json")).status_code


def expected(
    permission: str, scope: str, global_roles: list[str], project_roles: list[str]
) -> bool:
    return granted(
        global_roles, Permission(permission), project_roles if scope == "project" else ()
    )


def test_every_endpoint_with_every_role(walk_world, tmp_path):
    world = walk_world
    world.repo_path = str(tmp_path / "repos" / "walk")
    table = routes(world.app)
    catalogue = samples(world)
    assert set(catalogue) == set(table), "routes missing from the walk (or stale samples)"
    callers = {
        **{name: (roles, []) for name, roles in GLOBAL_CALLERS.items()},
        **{name: ([], roles) for name, roles in MEMBER_CALLERS.items()},
        "outsider": ([], []),
    }
    mismatches = []
    checked = 0
    for (method, path), (permission, scope) in sorted(table.items()):
        sample = catalogue[(method, path)]
        if scope == "runner":
            assert call(world.client(token=world.runner_token), method, path, sample) not in (
                401,
                403,
            )
            for name in ("g-core-developer", "m-project-developer"):
                assert call(world.client(name), method, path, sample) == 401, (method, path)
            continue
        assert call(world.client(), method, path, sample) == 401, (method, path, "anonymous")
        assert call(world.client(token=world.runner_token), method, path, sample) == 401
        for name, (global_roles, project_roles) in callers.items():
            status = call(world.client(name), method, path, sample)
            assert status < 500, (method, path, name, status)
            allowed = status not in (401, 403)
            if allowed != expected(permission, scope, global_roles, project_roles):
                mismatches.append((method, path, name, status))
            checked += 1
    assert not mismatches, mismatches
    assert checked >= 45 * len(callers)
