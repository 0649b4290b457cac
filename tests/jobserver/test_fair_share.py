"""Fair share, caps and quotas (issue 24), through the real API on SQLite and PostgreSQL.

A backend's free capacity goes to projects in turn; a project at its cap on a backend takes
nothing more there; a job request over the project's jobs-per-day quota is refused with a
sentence, and nothing is written.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import event, func, select, update

from jupyter_ext.jobserver import orm
from jupyter_ext.jobserver.services import leasing

from .harness import make_repo


def independent_project(path, actions: int) -> None:
    """A project.yaml of `actions` actions that need nothing: all runnable at once."""
    path.mkdir(parents=True)
    lines = ['version: "5"', "", "actions:"]
    for n in range(actions):
        lines += [
            f"  task_{n:02d}:",
            f"    run: python:v2 analysis/task.py --n {n}",
            "    outputs:",
            "      moderately_sensitive:",
            f"        table: output/task_{n:02d}.csv",
        ]
    (path / "project.yaml").write_text("\n".join(lines) + "\n")


def two_projects(world, tmp_path, actions: int = 12):
    """`sample-study` (workspace `alpha`) and `other-study` (`beta`), each a repository of
    `actions` independent actions; dev runs jobs in both."""
    independent_project(tmp_path / "source", actions)
    world.project("uni", "Other study", {"dev": ["project_developer"]})
    for name, project in (("alpha", "sample-study"), ("beta", "other-study")):
        make_repo(tmp_path / "repos" / name, source=tmp_path / "source")
        world.workspace(project, name, tmp_path / "repos" / name)


def submit(world, workspace: str, count: int, start: int = 0) -> list[str]:
    actions = [f"task_{n:02d}" for n in range(start, start + count)]
    body = {"workspace": workspace, "backend": "tpp", "actions": actions}
    made = world.client("dev").post("job-requests", json=body)
    assert made.status_code == 201, made.text
    return [j["identifier"] for j in made.json()["jobs"]]


def poll(world, capacity: int) -> list[str]:
    runner = world.client(token=world.runner_token)
    leases = runner.post("runner/poll", json={"capacity": capacity, "wait": 0})
    assert leases.status_code == 200, leases.text
    return [lease["identifier"] for lease in leases.json()]


def finish(world, identifier: str) -> None:
    runner = world.client(token=world.runner_token)
    done = runner.post(f"runner/jobs/{identifier}/status", json={"state": "succeeded"})
    assert done.status_code == 200, done.text


def test_a_project_that_asks_later_is_served_at_the_next_free_slot(world, tmp_path):
    two_projects(world, tmp_path)
    alpha = submit(world, "alpha", 12)
    assert poll(world, 4) == alpha[:4]  # alone: its jobs, oldest first; the runner is full
    beta = submit(world, "beta", 3)
    finish(world, alpha[0])
    assert poll(world, 1) == [beta[0]]  # not after alpha's backlog of 8
    finish(world, alpha[1])
    assert poll(world, 1) == [beta[1]]  # alpha runs 2, beta 1: beta's turn again
    finish(world, alpha[2])
    assert poll(world, 1) == [alpha[4]]  # 1 and 2: alpha's turn
    finish(world, beta[0])
    finish(world, beta[1])
    assert poll(world, 4) == [beta[2], *alpha[5:8]]  # 2 and 0 running: beta's last first


def test_free_capacity_is_shared_in_one_poll(world, tmp_path):
    two_projects(world, tmp_path)
    alpha = submit(world, "alpha", 10)
    beta = submit(world, "beta", 2)
    assert poll(world, 5) == [alpha[0], beta[0], alpha[1], beta[1], alpha[2]]


def test_blocked_jobs_never_hide_runnable_ones_in_the_fair_order(world, tmp_path, monkeypatch):
    """The sample workspace's report waits behind a chain: with pages of 2, its four blocked
    jobs come first in the order (alpha has fewer running), and the poll pages on past them
    to beta's runnable job."""
    two_projects(world, tmp_path)
    monkeypatch.setattr(leasing, "PENDING_PAGE", 2)
    beta = submit(world, "beta", 5)
    assert poll(world, 4) == beta[:4]
    dev = world.client("dev")
    body = {"workspace": "sample", "backend": "tpp", "actions": ["report"]}
    chain = [j["identifier"] for j in dev.post("job-requests", json=body).json()["jobs"]]
    assert poll(world, 1) == [chain[0]]  # its first; the other four wait for it
    assert poll(world, 1) == [beta[4]]  # found on the third page


def test_a_cap_holds_a_project_to_its_share(world, tmp_path):
    two_projects(world, tmp_path)
    admin, dev = world.client("admin"), world.client("dev")
    set_cap = admin.put("projects/sample-study/limits/tpp", json={"max_running": 2})
    assert set_cap.status_code == 200, set_cap.text
    assert set_cap.json()["max_running"] == 2 and set_cap.json()["jobs_per_day"] is None
    alpha = submit(world, "alpha", 6)
    assert poll(world, 4) == alpha[:2]  # the backend has room; the project does not
    assert poll(world, 4) == []
    beta = submit(world, "beta", 3)
    assert poll(world, 4) == beta  # others are not held back
    finish(world, alpha[0])
    assert poll(world, 4) == [alpha[2]]
    shown = dev.get("projects/sample-study/limits").json()
    assert shown == [
        {
            "project": "sample-study",
            "backend": "tpp",
            "max_running": 2,
            "jobs_per_day": None,
            "running": 2,
            "jobs_last_day": 6,
            "updated_at": shown[0]["updated_at"],
        }
    ]
    lifted = admin.put("projects/sample-study/limits/tpp", json={"max_running": None})
    assert lifted.json()["max_running"] is None and lifted.json()["updated_at"] is None
    assert poll(world, 4) == alpha[3:6]
    refused = dev.put("projects/sample-study/limits/tpp", json={"max_running": 100})
    assert refused.status_code == 403 and "may not manage backends" in refused.json()["detail"]
    with world.factory() as session:
        audited = session.scalars(
            select(orm.AuditEvent).where(orm.AuditEvent.action == "project.limits.set")
        ).all()
    assert [(e.actor, e.before, e.after["max_running"]) for e in audited] == [
        ("admin", None, 2),
        ("admin", {"max_running": 2, "jobs_per_day": None}, None),
    ]


def test_a_request_over_the_quota_is_refused_with_when_and_writes_nothing(world, tmp_path):
    two_projects(world, tmp_path)
    admin, dev = world.client("admin"), world.client("dev")
    assert admin.put("projects/sample-study/limits/tpp", json={"jobs_per_day": 5}).is_success
    submit(world, "alpha", 3)
    with world.factory() as session:  # asked for 3 hours ago, and an hour ago
        first, second, third = session.scalars(select(orm.Job).order_by(orm.Job.id)).all()
        now = orm.utcnow()
        first.created_at = now - dt.timedelta(hours=3, seconds=30)
        second.created_at = third.created_at = now - dt.timedelta(hours=1)
        session.commit()
        counted = session.scalar(select(func.count()).select_from(orm.JobRequest))
        events = session.scalar(select(func.count()).select_from(orm.AuditEvent))

    def refused(body, words):
        answer = dev.post("job-requests", json=body)
        assert answer.status_code == 409, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert words in answer.json()["detail"], answer.json()["detail"]
        return answer.json()["detail"]

    three = {"workspace": "alpha", "backend": "tpp", "actions": ["task_03", "task_04", "task_05"]}
    said = refused(
        three,
        "the project sample-study may run 5 jobs a day on tpp; 3 were asked for in the last 24 "
        "hours and this request makes 3: ask for fewer actions, or wait until ",
    )
    at = first.created_at + dt.timedelta(hours=24)  # one of the three must leave the window
    at = at.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    assert said.endswith(f"{at:%Y-%m-%d %H:%M} UTC"), said
    run = {"workspace": "alpha", "backends": ["tpp"], "actions": three["actions"]}
    assert dev.post("runs", json=run).status_code == 409  # a study run: the same refusal
    six = [f"task_{n:02d}" for n in range(3, 9)]
    refused({**three, "actions": six}, "this request makes 6: ask for fewer actions, 5 jobs")
    with world.factory() as session:
        assert session.scalar(select(func.count()).select_from(orm.JobRequest)) == counted
        assert session.scalar(select(func.count()).select_from(orm.AuditEvent)) == events
    two = dev.post("job-requests", json={**three, "actions": ["task_03", "task_04"]})
    assert two.status_code == 201  # up to the quota
    assert dev.post("job-requests", json={**three, "workspace": "beta"}).status_code == 201
    schedule = {  # made over the quota (by its first firing there may be room), run at once
        "workspace": "alpha",
        "actions": ["task_09"],
        "backends": ["tpp"],
        "cron": "0 6 * * 1",
        "timezone": "UTC",
    }
    made = dev.post("schedules", json=schedule)
    assert made.status_code == 201, made.text
    fired = dev.post(f"schedules/{made.json()['id']}/run-now")
    assert fired.status_code == 409 and "may run 5 jobs a day on tpp" in fired.json()["detail"]
    with world.factory() as session:  # a day later the window is empty again
        session.execute(
            update(orm.Job).values(created_at=orm.utcnow() - dt.timedelta(hours=24, minutes=1))
        )
        session.commit()
    later = {**three, "actions": ["task_05", "task_06", "task_07"]}
    assert dev.post("job-requests", json=later).status_code == 201
    shown = dev.get("projects/sample-study/limits").json()[0]
    assert (shown["jobs_per_day"], shown["jobs_last_day"]) == (5, 3)


def test_fair_order_is_one_query_per_page(world, tmp_path):
    """However many projects wait, a poll that finds its jobs in the first page asks once."""
    two_projects(world, tmp_path)
    for start in (0, 4, 8):
        submit(world, "alpha", 4, start)
    submit(world, "beta", 4)
    statements: list[str] = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(world.engine, "before_cursor_execute", seen)
    try:
        assert len(poll(world, 4)) == 4
    finally:
        event.remove(world.engine, "before_cursor_execute", seen)
    orders = [s for s in statements if "row_number() OVER" in s]
    assert len(orders) == 1, orders


def test_an_administrator_sets_limits_from_a_shell(world, tmp_path):
    from .test_jobserver_cli import jupyter_ext, ok

    url = world.engine.url.render_as_string(hide_password=False)

    def admin(*args: str):
        return jupyter_ext("admin", "limits", *args, "--db-url", url, cwd=tmp_path)

    said = ok(admin("sample-study", "tpp", "--max-running", "2", "--jobs-per-day", "100"))
    assert said == "sample-study on tpp: at most 2 running, 100 jobs a day\n"
    said = ok(admin("sample-study", "tpp", "--jobs-per-day", "none"))
    assert said == "sample-study on tpp: at most 2 running, no quota\n"  # the cap stays
    shown = world.client("dev").get("projects/sample-study/limits").json()[0]
    assert (shown["max_running"], shown["jobs_per_day"]) == (2, None)
    wrong = admin("sample-study", "tpp", "--max-running", "two")
    assert wrong.returncode == 2 and "--max-running must be a whole number" in wrong.stderr
    missing = admin("nope", "tpp", "--max-running", "1")
    assert missing.returncode == 2 and "no project 'nope'" in missing.stderr
