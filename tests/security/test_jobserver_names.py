"""Names that become addresses and paths on the job server: one safe path component each.

Tried as an attacker would, against the real job server under uvicorn: a workspace, an
organisation, a project, a backend or a dataset named to climb out of a folder (`..`,
`../x`, `a/b`, a backslash, an encoded dot) is refused with a 422 saying what is allowed,
and nothing is written. Job identifiers are made by the job server, never chosen.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from jupyter_ext.jobserver import orm
from jupyter_ext.jobserver.names import SLUG_RULE, is_slug
from jupyter_ext.jobserver.services.job_requests import job_identifier
from tests.jobserver.conftest import db_url, server, world  # noqa: F401
from tests.jobserver.test_jobserver_cli import jupyter_ext, ok, upgraded, workdir  # noqa: F401

HOSTILE = [".", "..", "../x", "../../../../etc", "a/b", "a\\b", "%2e%2e", "x/..", "-x", "x-"]
HOSTILE += ["A", "a.b", ".hidden", "a b", "a\nb", "é", "x" * 65, ""]


def rows(js, model) -> int:
    with js.factory() as session:
        return session.scalar(select(func.count()).select_from(model))


def refused(answer, name: str) -> None:
    assert answer.status_code == 422, (name, answer.status_code, answer.text)
    assert SLUG_RULE in answer.json()["detail"], answer.json()["detail"]


def test_hostile_names_are_refused_where_the_api_takes_a_name(world):  # noqa: F811
    admin = world.client("admin")
    dev = world.client("dev")
    runner = world.client(token=world.runner_token)
    models = (orm.Workspace, orm.Org, orm.Project, orm.Backend, orm.Dataset)
    counts = {m: rows(world, m) for m in models}
    manifest = {"files": [], "sha256": "0" * 64}
    for name in HOSTILE:
        workspace = {"name": name, "project": "sample-study", "repo": "https://github.com/o/r"}
        refused(dev.post("workspaces", json=workspace), name)
        refused(admin.post("orgs", json={"slug": name, "name": "Hostile"}), name)
        refused(admin.post("projects", json={"org": "uni", "name": "Hostile", "slug": name}), name)
        refused(admin.post("backends", json={"slug": name, "name": "Hostile"}), name)
        dataset = {"name": name, "description": "d", "owner": "uni", "manifest": manifest}
        refused(runner.post("runner/datasets", json=dataset), name)
    assert counts == {m: rows(world, m) for m in counts}  # nothing written


def test_a_project_slug_made_from_its_name_is_always_safe(world):  # noqa: F811
    made = world.client("admin").post("projects", json={"org": "uni", "name": "../../etc/x"})
    assert made.status_code == 201, made.text
    assert made.json()["slug"] == "etc-x" and is_slug(made.json()["slug"])


@pytest.mark.parametrize("action", ["../../../../tmp/x", "a/b", "..", "évil\\x", "x" * 500])
def test_job_identifiers_are_made_not_chosen(action):
    identifier = job_identifier("01JZZZZZZZZZZZZZZZZZZZZZZZ", action)
    assert re.fullmatch(r"[a-z2-7]{16}", identifier) and is_slug(identifier)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_admin_command_refuses_the_same_names(upgraded, workdir):  # noqa: F811
    ok(jupyter_ext("admin", "add-org", "uni", "--db-url", upgraded, cwd=workdir))
    commands = (("add-org", "an organisation", ()), ("add-backend", "a backend", ("--org=uni",)))
    for command, what, more in commands:
        for name in ("..", "../x", "A/b"):
            args = ("admin", command, name, *more, "--db-url", upgraded)
            done = jupyter_ext(*args, cwd=workdir)
            assert done.returncode == 2, done.stdout
            assert done.stderr.strip() == f"error: {name!r} cannot name {what}: {SLUG_RULE}"
