"""Two real `jupyter ext jobserver` processes on one PostgreSQL, runners of two backends
polling through both at once: every job is leased exactly once, a project that asks later is
served at the next free slots, and a cap holds across processes."""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections import Counter

from sqlalchemy import select

from jupyter_ext.jobserver import orm

from .conftest import build_world
from .harness import JobServer
from .test_fair_share import two_projects
from .test_jobserver_cli import environment, jobserver, new_key

JOB_SECONDS = 0.05  # each simulated job's run
CAPACITY = 2  # each runner's


class Runner(threading.Thread):
    """A runner of `backend` polling through one job server process: it reports each job it
    leases succeeded `JOB_SECONDS` later, and polls again whenever it has room."""

    def __init__(self, api, token, backend, leased, lock, done) -> None:
        super().__init__(daemon=True)
        self.api, self.token, self.backend = api, token, backend
        self.leased, self.lock, self.done = leased, lock, done
        self.errors: list[str] = []

    def run(self) -> None:
        import httpx

        headers = {"Authorization": f"Bearer {self.token}"}
        running: dict[str, float] = {}
        with httpx.Client(base_url=self.api, headers=headers, timeout=30) as http:
            while not self.done.is_set() or running:
                now = time.monotonic()
                for identifier in [i for i, at in running.items() if at <= now]:
                    ended = http.post(
                        f"/runner/jobs/{identifier}/status", json={"state": "succeeded"}
                    )
                    if ended.status_code != 200:
                        self.errors.append(ended.text)
                    del running[identifier]
                free = CAPACITY - len(running)
                if free and not self.done.is_set():
                    answer = http.post("/runner/poll", json={"capacity": free, "wait": 0})
                    if answer.status_code != 200:
                        self.errors.append(answer.text)
                        continue
                    with self.lock:
                        for lease in answer.json():
                            self.leased.append(
                                (self.backend, lease["workspace"], lease["identifier"])
                            )
                            running[lease["identifier"]] = time.monotonic() + JOB_SECONDS
                time.sleep(0.01)


def submit(world, workspace: str, backend: str, count: int) -> list[str]:
    actions = [f"task_{n:02d}" for n in range(count)]
    body = {"workspace": workspace, "backend": backend, "actions": actions}
    made = world.client("dev").post("job-requests", json=body)
    assert made.status_code == 201, made.text
    return [j["identifier"] for j in made.json()["jobs"]]


def test_two_processes_lease_fairly_and_never_twice(postgres_url, tmp_path):
    world = build_world(JobServer(postgres_url, tmp_path), tmp_path)
    try:
        north = world.backend("north")
        with world.factory() as session:
            org = session.scalar(select(orm.Org))
            backend = session.scalar(select(orm.Backend).where(orm.Backend.slug == "north"))
            session.add(orm.OrgBackend(org_id=org.id, backend_id=backend.id))
            session.commit()
        two_projects(world, tmp_path, actions=40)
        capped = world.client("admin").put(
            "projects/sample-study/limits/north", json={"max_running": 1}
        )
        assert capped.status_code == 200, capped.text
        alpha = submit(world, "alpha", "tpp", 40) + submit(world, "alpha", "north", 30)
        options = (f"--JobServerApp.local_repo_roots={[str(tmp_path / 'repos')]}",)
        env = environment(crypt_key=new_key())
        leased: list[tuple[str, str, str]] = []
        lock, done = threading.Lock(), threading.Event()
        with contextlib.ExitStack() as running:
            servers = [
                running.enter_context(jobserver(tmp_path, postgres_url, *options, env=env))
                for _ in range(2)
            ]
            runners = [
                Runner(server.api, token, slug, leased, lock, done)
                for slug, token in (("tpp", world.runner_token), ("north", north))
                for server in servers
            ]
            for runner in runners:
                runner.start()
            deadline = time.monotonic() + 60
            while sum(1 for b, *_ in leased if b == "tpp") < 6 and time.monotonic() < deadline:
                time.sleep(0.005)
            beta = submit(world, "beta", "tpp", 4)
            with lock:
                mark = len(leased)  # polls in flight may still lease alpha's jobs
            beta += submit(world, "beta", "north", 4)
            everything = set(alpha) | set(beta)
            while {i for *_, i in leased} != everything and time.monotonic() < deadline:
                time.sleep(0.01)
            done.set()
            for runner in runners:
                runner.join(30)
            outputs = [s.output() for s in servers]
        assert [e for r in runners for e in r.errors] == []
        identifiers = [i for *_, i in leased]
        assert sorted(identifiers) == sorted(everything)  # each exactly once, none lost
        with world.factory() as session:
            starts = Counter(
                session.scalars(
                    select(orm.AuditEvent.target_id).where(orm.AuditEvent.action == "job.start")
                )
            )
            jobs = session.scalars(select(orm.Job)).all()
        assert starts == Counter(everything)
        assert {j.state for j in jobs} == {"succeeded"}
        after = [(b, w) for b, w, _ in leased[mark:] if b == "tpp"]
        first_beta = after.index(("tpp", "beta"))
        last_beta = len(after) - after[::-1].index(("tpp", "beta")) - 1
        # first come, first served: beta would wait behind alpha's 30-odd other jobs on tpp;
        # in turn, beta's first comes at once (but for polls in flight), then every other
        assert first_beta < 6 and last_beta < 16, after
        on_north = sorted(
            (j.started_at, j.completed_at)
            for j in jobs
            if j.identifier in set(alpha) and j.backend_id == backend.id
        )
        for (_, ended), (started, _) in itertools.pairwise(on_north):
            assert started >= ended  # its cap of 1 on north held in both processes
        assert not any("Traceback" in text for text in outputs), outputs
    finally:
        world.close()
