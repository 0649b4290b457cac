"""Walk every endpoint with every role, a project member of each kind, an outsider, no one.

Each route says in its OpenAPI entry which permission it asks (`x-permission`)
and whether inside a project (`x-scope`). Allowed means the answer is neither
401 nor 403; the walk compares that with the permission table for every caller,
and fails if a route is missing from the sample requests below, so a new
endpoint cannot slip past it.
"""

from __future__ import annotations

import datetime as dt

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
    request = dev.post(
        "job-requests", json={"workspace": "walk", "backend": "tpp", "actions": ["make_table"]}
    ).json()
    server.job_request = request["id"]
    server.job = request["jobs"][0]["identifier"]
    run = {"workspace": "walk", "backends": ["tpp"], "actions": ["make_plot"]}
    server.run = dev.post("runs", json=run).json()["id"]
    seed_release_and_application(server)
    seed_dataset_access(server)
    seed_schedule(server)
    return server


def seed_schedule(server) -> None:
    """The victim's schedule (made before they lost the right to run jobs): no caller owns it."""
    from sqlalchemy import select

    from jupyter_ext.jobserver import orm

    with server.factory() as session:
        workspace = session.scalar(select(orm.Workspace).where(orm.Workspace.name == "walk"))
        victim = session.scalar(select(orm.User).where(orm.User.username == "victim"))
        schedule = orm.Schedule(
            workspace_id=workspace.id,
            created_by_id=victim.id,
            actions=["make_plot"],
            backends=["tpp"],
            cron="0 6 * * 1",
            timezone="UTC",
            next_due_at=orm.utcnow() + dt.timedelta(days=7),
        )
        session.add(schedule)
        session.commit()
        server.schedule = schedule.id


def seed_dataset_access(server) -> None:
    """A dataset of the backend, and the victim's request that a project use it."""
    from jupyter_ext import schema

    from .test_datasets import body

    server.client(token=server.runner_token).post(
        "runner/datasets", json=body(name="walkdata")
    ).raise_for_status()
    server.dataset_manifest = body(name="walkdata")["manifest"]
    with server.factory() as session:
        from sqlalchemy import select

        from jupyter_ext.jobserver import orm

        dataset = session.scalar(select(orm.Dataset).where(orm.Dataset.name == "walkdata"))
        project = session.scalar(select(orm.Project))
        victim = session.scalar(select(orm.User).where(orm.User.username == "victim"))
        access = orm.DatasetAccess(
            project_id=project.id, dataset_id=dataset.id, purpose="p", requested_by_id=victim.id
        )
        session.add(access)
        session.commit()
        server.access = access.id
    assert schema.AccessState.REQUESTED == "requested"


def seed_release_and_application(server) -> None:
    """A succeeded job with a releasable output, a release of it, and an application."""
    from sqlalchemy import select

    from jupyter_ext.jobserver import orm

    with server.factory() as session:
        job = session.scalar(select(orm.Job).where(orm.Job.identifier == server.job))
        job.state = "succeeded"
        session.add(
            orm.JobOutput(
                job_id=job.id,
                path="output/table.csv",
                size=3,
                sha256="0" * 64,
                privacy_level="moderately_sensitive",
            )
        )
        victim = session.scalar(select(orm.User).where(orm.User.username == "victim"))
        release = orm.Release(
            workspace_id=job.workspace_id,
            backend_id=job.backend_id,
            created_by_id=victim.id,
            groups={"g": {"context": "c", "disclosure_control": "d"}},
        )
        release.files.append(
            orm.ReleaseFile(
                job_id=job.id, group="g", path="output/table.csv", sha256="0" * 64, size=3
            )
        )
        org = session.scalar(select(orm.Org))
        application = orm.Application(
            study_name="Walked",
            org_id=org.id,
            purpose="p",
            data="d",
            backends=["tpp"],
            created_by_id=victim.id,
        )
        session.add_all([release, application])
        session.commit()
        server.release, server.release_file = release.id, release.files[0].id
        server.application = application.id


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
        ("GET", "/backends/{backend}/members"): {"path": "/backends/tpp/members"},
        ("PUT", "/backends/{backend}/members/{username}"): {
            "path": "/backends/spare/members/victim",
            "json": {"roles": ["output_checker"]},
        },
        ("DELETE", "/backends/{backend}/members/{username}"): {
            "path": "/backends/spare/members/victim"
        },
        ("GET", "/projects"): {},
        ("POST", "/projects"): {"json": {"org": "uni", "name": "Another study"}},
        ("GET", "/projects/{project}"): {"path": "/projects/walk-study"},
        ("PATCH", "/projects/{project}"): {
            "path": "/projects/walk-study",
            "json": {"name": "Walk study"},
        },
        ("GET", "/projects/{project}/members"): {"path": "/projects/walk-study/members"},
        ("GET", "/projects/{project}/limits"): {"path": "/projects/walk-study/limits"},
        ("PUT", "/projects/{project}/limits/{backend}"): {
            "path": "/projects/walk-study/limits/spare",
            "json": {"max_running": 3, "jobs_per_day": 1000},
        },
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
        ("POST", "/runs"): {
            "json": {"workspace": "walk", "backends": ["tpp"], "actions": ["make_plot"]}
        },
        ("GET", "/runs"): {},
        ("GET", "/runs/{run_id}"): {"path": f"/runs/{world.run}"},
        ("POST", "/runs/{run_id}/cancel"): {"path": f"/runs/{world.run}/cancel"},
        ("POST", "/schedules"): {
            "json": {
                "workspace": "walk",
                "backends": ["tpp"],
                "actions": ["make_plot"],
                "cron": "0 6 * * 1",
            }
        },
        ("GET", "/schedules"): {},
        ("GET", "/schedules/{schedule_id}"): {"path": f"/schedules/{world.schedule}"},
        ("GET", "/schedules/{schedule_id}/history"): {
            "path": f"/schedules/{world.schedule}/history"
        },
        ("POST", "/schedules/{schedule_id}/pause"): {"path": f"/schedules/{world.schedule}/pause"},
        ("POST", "/schedules/{schedule_id}/resume"): {
            "path": f"/schedules/{world.schedule}/resume"
        },
        ("POST", "/schedules/{schedule_id}/run-now"): {
            "path": f"/schedules/{world.schedule}/run-now"
        },
        ("DELETE", "/schedules/{schedule_id}"): {"path": f"/schedules/{world.schedule}"},
        ("GET", "/jobs"): {},
        ("GET", "/jobs/{identifier}"): {"path": f"/jobs/{job}"},
        ("GET", "/jobs/{identifier}/logs"): {"path": f"/jobs/{job}/logs"},
        ("GET", "/jobs/{identifier}/outputs"): {"path": f"/jobs/{job}/outputs"},
        ("GET", "/jobs/{identifier}/provenance"): {"path": f"/jobs/{job}/provenance"},
        ("POST", "/jobs/{identifier}/cancel"): {"path": f"/jobs/{job}/cancel"},
        ("GET", "/events"): {"stream": True},
        ("POST", "/applications"): {
            "json": {
                "study_name": "Walk two",
                "org": "uni",
                "purpose": "p",
                "data": "d",
                "backends": ["tpp"],
            }
        },
        ("GET", "/applications"): {},
        ("GET", "/applications/{application_id}"): {"path": f"/applications/{world.application}"},
        ("POST", "/applications/{application_id}/approve"): {
            "path": f"/applications/{world.application}/approve",
            "json": {"reason": ""},
        },
        ("POST", "/applications/{application_id}/reject"): {
            "path": f"/applications/{world.application}/reject",
            "json": {"reason": "no"},
        },
        ("POST", "/applications/{application_id}/resubmit"): {
            "path": f"/applications/{world.application}/resubmit",
            "json": {
                "study_name": "Walked",
                "org": "uni",
                "purpose": "p",
                "data": "d",
                "backends": ["tpp"],
            },
        },
        ("POST", "/releases"): {
            "json": {
                "workspace": "walk",
                "backend": "tpp",
                "groups": {
                    "g": {
                        "context": "c",
                        "disclosure_control": "d",
                        "files": [{"job": job, "path": "output/table.csv"}],
                    }
                },
            }
        },
        ("GET", "/releases"): {},
        ("GET", "/releases/queue"): {},
        ("GET", "/releases/{release_id}"): {"path": f"/releases/{world.release}"},
        ("POST", "/releases/{release_id}/files/{file_id}/reviews"): {
            "path": f"/releases/{world.release}/files/{world.release_file}/reviews",
            "json": {"decision": "approve"},
        },
        ("PUT", "/releases/{release_id}/files/{file_id}/reviews"): {
            "path": f"/releases/{world.release}/files/{world.release_file}/reviews",
            "json": {"decision": "request_changes"},
        },
        ("DELETE", "/releases/{release_id}/files/{file_id}/reviews"): {
            "path": f"/releases/{world.release}/files/{world.release_file}/reviews",
        },
        ("GET", "/release-decisions"): {"path": "/release-decisions?project=walk-study"},
        ("GET", "/releases/{release_id}/files/{file_id}/review-copy"): {
            "path": f"/releases/{world.release}/files/{world.release_file}/review-copy"
        },
        ("POST", "/releases/{release_id}/files/{file_id}/comments"): {
            "path": f"/releases/{world.release}/files/{world.release_file}/comments",
            "json": {"text": "why?"},
        },
        ("POST", "/releases/{release_id}/files/{file_id}/versions"): {
            "path": f"/releases/{world.release}/files/{world.release_file}/versions",
            "json": {"job": job},
        },
        ("POST", "/releases/{release_id}/withdraw"): {
            "path": f"/releases/{world.release}/withdraw"
        },
        ("POST", "/releases/{release_id}/publish"): {"path": f"/releases/{world.release}/publish"},
        ("DELETE", "/api/v2/releases/file/{file_id}"): {
            "url": f"{world.root}api/v2/releases/file/{world.release_file}"
        },
        ("POST", "/api/v2/releases/file/{file_id}/restore"): {
            "url": f"{world.root}api/v2/releases/file/{world.release_file}/restore"
        },
        ("GET", "/api/v2/releases/file/{file_id}"): {
            "url": f"{world.root}api/v2/releases/file/{world.release_file}"
        },
        ("GET", "/api/v2/releases/file/{file_id}/provenance"): {
            "url": f"{world.root}api/v2/releases/file/{world.release_file}/provenance"
        },
        ("GET", "/api/v2/releases/{release_id}/zip"): {
            "url": f"{world.root}api/v2/releases/{world.release}/zip"
        },
        ("GET", "/audit"): {},
        ("GET", "/usage"): {"path": "/usage?group=user&format=csv"},
        ("GET", "/datasets"): {},
        ("GET", "/datasets/{backend}/{name}"): {"path": "/datasets/tpp/walkdata"},
        ("POST", "/dataset-access"): {
            "json": {
                "project": "walk-study",
                "backend": "tpp",
                "dataset": "walkdata",
                "purpose": "walked",
            },
        },
        ("GET", "/dataset-access"): {},
        ("GET", "/dataset-access/{access_id}"): {"path": f"/dataset-access/{world.access}"},
        ("POST", "/dataset-access/{access_id}/approve"): {
            "path": f"/dataset-access/{world.access}/approve",
            "json": {},
        },
        ("POST", "/dataset-access/{access_id}/reject"): {
            "path": f"/dataset-access/{world.access}/reject",
            "json": {},
        },
        ("POST", "/dataset-access/{access_id}/revoke"): {
            "path": f"/dataset-access/{world.access}/revoke",
            "json": {},
        },
        ("POST", "/dataset-access/{access_id}/withdraw"): {
            "path": f"/dataset-access/{world.access}/withdraw",
        },
        ("POST", "/runner/datasets"): {
            "json": {
                "name": "walkdata",
                "description": "d",
                "owner": "uni",
                "manifest": world.dataset_manifest,
            },
        },
        ("POST", "/runner/datasets/{name}/retire"): {"path": "/runner/datasets/walkdata/retire"},
        ("PUT", "/runner/datasets/{name}/versions/{version}/dummy/{path}"): {
            "path": "/runner/datasets/walkdata/versions/1/dummy/x.csv",
            "content": b"abc",
        },
        ("GET", "/datasets/{backend}/{name}/dummy/{path}"): {
            "path": "/datasets/tpp/walkdata/dummy/x.csv"
        },
        ("PUT", "/runner/release-files/{file_id}"): {
            "path": f"/runner/release-files/{world.release_file}",
            "content": b"abc",
        },
        ("GET", "/runner/release-files/{file_id}"): {
            "path": f"/runner/release-files/{world.release_file}"
        },
        ("POST", "/runner/release-files/{file_id}/refusal"): {
            "path": f"/runner/release-files/{world.release_file}/refusal",
            "json": {"reason": "it changed on the site since it was frozen"},
        },
        ("PUT", "/runner/review-files/{file_id}"): {
            "path": f"/runner/review-files/{world.release_file}",
            "content": b"abc",
        },
        ("GET", "/runner/review-files/{file_id}"): {
            "path": f"/runner/review-files/{world.release_file}"
        },
        ("POST", "/runner/review-files/{file_id}/refusal"): {
            "path": f"/runner/review-files/{world.release_file}/refusal",
            "json": {"reason": "it changed on the site since it was frozen"},
        },
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
                operation.get("x-also"),
            )
    return found


def call(client, method: str, path: str, sample: dict) -> int:
    url = sample.get("url") or sample.get("path", path).lstrip("/")
    if sample.get("stream"):
        with client.stream(method, url) as response:
            return response.status_code
    if "content" in sample:
        return client.request(method, url, content=sample["content"]).status_code
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
    world.root = world.base_url.removesuffix("api/v1/")
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
    for (method, path), (permission, scope, _) in sorted(table.items()):
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
        if scope == "owner":  # only the thing's maker (who is none of the callers)
            for name in callers:
                assert call(world.client(name), method, path, sample) in (403, 404), (path, name)
            continue
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
    assert_declared_is_enforced(world.app, table)


def assert_declared_is_enforced(app, table) -> None:
    """What each route declares is what its code checked during the walk: the declared
    permission was asked (an owner's route may refuse a stranger before it asks), and nothing
    but it (or the one it may grant instead, `x-also`)."""
    from jupyter_ext.jobserver.architecture import api_routes

    enforced = {  # by the path the table uses
        (method, path.removeprefix("/api/v1")): app.state.enforced.get((method, route.endpoint))
        for path, method, route in api_routes()
    }
    wrong = []
    for (method, path), (permission, scope, also) in sorted(table.items()):
        if scope == "runner":
            continue
        checked = {p.value for p in enforced[(method, path)] or ()}
        asked = permission in checked or scope == "owner"
        if not asked or not checked <= {permission, also}:
            wrong.append((method, path, permission, sorted(checked)))
    assert not wrong, f"declared is not enforced: {wrong}"
