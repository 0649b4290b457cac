"""A job server database as a busy site would have it, filled with bulk inserts.

`fill(engine, repo)` writes 2 backends, 2 organisations, 20 projects of 10
workspaces, 20 users with API tokens and project roles, and a history of job
requests of 5 jobs each (most succeeded, some failed or cancelled; the newest
few still running, with pending jobs waiting for them). Every workspace points
at `repo`, one real git repository of the sample project, so that any of them
can take new job requests. Nothing here goes through the API: it is set-up.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from ulid import ULID

from jupyter_ext.jobserver import orm
from jupyter_ext.jobserver.security import new_token, token_hash, token_prefix
from jupyter_ext.jobserver.services.job_requests import job_identifier

# Five pipelines of five actions each, in topological order: (action, needs).
# The first is the sample project's, so its workspaces take real job requests.
PIPELINES: list[list[tuple[str, list[str]]]] = [
    [
        ("generate_dataset", []),
        ("derive_measures", ["generate_dataset"]),
        ("make_table", ["derive_measures"]),
        ("make_plot", ["derive_measures"]),
        ("report", ["make_table", "make_plot"]),
    ],
    [
        ("generate_cohort", []),
        ("describe_population", ["generate_cohort"]),
        ("analyse_outcomes_cox", ["generate_cohort"]),
        ("run_model_sensitivity", ["analyse_outcomes_cox"]),
        ("make_report", ["describe_population", "run_model_sensitivity"]),
    ],
    [
        ("extract_study_population", []),
        ("generate_measures", ["extract_study_population"]),
        ("plot_measures", ["generate_measures"]),
        ("check_disclosure", ["generate_measures"]),
        ("redact_tables", ["check_disclosure"]),
    ],
    [
        ("generate_dataset_2019", []),
        ("generate_dataset_2020", []),
        ("combine_datasets", ["generate_dataset_2019", "generate_dataset_2020"]),
        ("fit_logistic_model", ["combine_datasets"]),
        ("export_tables", ["fit_logistic_model"]),
    ],
    [
        ("generate_study_population", []),
        ("generate_measures_vaccine", ["generate_study_population"]),
        ("time_series_plots", ["generate_measures_vaccine"]),
        ("interrupted_time_series_model", ["generate_measures_vaccine"]),
        ("sensitivity_analysis", ["interrupted_time_series_model"]),
    ],
]
PROJECTS, WORKSPACES_PER_PROJECT, JOBS_PER_REQUEST = 20, 10, 5
MEMBER_PROJECTS = 4  # the member ("dev") develops in the first 4 projects
ACTIVE_REQUESTS = 60  # the newest requests, still running
HISTORY = dt.timedelta(days=365)


@dataclass
class Filled:
    repo: str
    tokens: dict[str, str] = field(default_factory=dict)  # username: API token
    runner_tokens: dict[str, str] = field(default_factory=dict)  # backend slug: runner token
    projects: list[str] = field(default_factory=list)
    workspaces: dict[str, list[str]] = field(default_factory=dict)  # project: workspace names
    job_requests: int = 0
    jobs: int = 0
    member_job_request: str = ""  # a job request in one of the member's projects

    @property
    def member_projects(self) -> list[str]:
        return self.projects[:MEMBER_PROJECTS]


def _is_db_action(action: str) -> bool:
    return action.startswith(("generate_", "extract_"))


def _run(action: str) -> str:
    if _is_db_action(action):
        return f"ehrql:v1 generate-dataset analysis/{action}.py --output output/{action}.arrow"
    return f"python:v2 analysis/{action}.py"


def _outputs(action: str) -> dict[str, Any]:
    if _is_db_action(action):
        return {"highly_sensitive": {"dataset": f"output/{action}.arrow"}}
    return {"moderately_sensitive": {"table": f"output/{action}.csv", "log": f"logs/{action}.log"}}


def project_yaml(pipeline: list[tuple[str, list[str]]]) -> str:
    lines = ['version: "4"', "", "expectations:", "  population_size: 1000", "", "actions:"]
    for action, needs in pipeline:
        lines += [f"  {action}:", f"    run: {_run(action)}"]
        if needs:
            lines.append(f"    needs: [{', '.join(needs)}]")
        lines.append("    outputs:")
        for level, files in _outputs(action).items():
            lines.append(f"      {level}:")
            lines += [f"        {name}: {path}" for name, path in files.items()]
        lines.append("")
    return "\n".join(lines)


def _insert(engine: Engine, table: sa.Table, rows: list[dict[str, Any]], batch: int) -> None:
    with engine.begin() as connection:
        for start in range(0, len(rows), batch):
            connection.execute(sa.insert(table), rows[start : start + batch])


def _ids(engine: Engine, table: sa.Table, key: str) -> dict[str, int]:
    with engine.connect() as connection:
        return dict(connection.execute(sa.select(table.c[key], table.c.id)).all())


def fill(engine: Engine, repo: str, jobs: int = 100_000, seed: int = 11) -> Filled:
    """Fill an empty, migrated database; returns who and what is in it."""
    rng = random.Random(seed)
    now = orm.utcnow()
    start = now - HISTORY
    filled = Filled(repo=repo)
    t = orm

    # -- people, organisations, backends ---------------------------------------------------
    usernames = ["admin", "dev", *(f"user{i:02d}" for i in range(3, 21))]
    _insert(
        engine,
        t.User.__table__,
        [
            {
                "username": name,
                "fullname": name.title(),
                "email": f"{name}@example.org",
                "roles": ["core_developer"] if name == "admin" else [],
                "github_token": None,
                "created_at": start,
            }
            for name in usernames
        ],
        1000,
    )
    user_ids = _ids(engine, t.User.__table__, "username")
    token_rows = []
    for name in usernames:
        token = new_token("jxa")
        filled.tokens[name] = token
        token_rows.append(
            {
                "user_id": user_ids[name],
                "name": "bench",
                "prefix": token_prefix(token),
                "hash": token_hash(token),
                "created_at": start,
                "last_used_at": None,
                "expires_at": None,
                "revoked_at": None,
            }
        )
    _insert(engine, t.ApiToken.__table__, token_rows, 1000)

    backends = ["tpp", "emis"]
    _insert(
        engine,
        t.Backend.__table__,
        [
            {
                "slug": slug,
                "name": slug.upper(),
                "log_policy": "full",
                "last_seen_at": None,
                "runner_version": None,
                "executor": None,
                "capacity": None,
                "created_at": start,
            }
            for slug in backends
        ],
        1000,
    )
    backend_ids = _ids(engine, t.Backend.__table__, "slug")
    runner_rows = []
    for slug in backends:
        token = new_token("jxr")
        filled.runner_tokens[slug] = token
        runner_rows.append(
            {
                "backend_id": backend_ids[slug],
                "prefix": token_prefix(token),
                "hash": token_hash(token),
                "created_at": start,
                "revoked_at": None,
            }
        )
    _insert(engine, t.RunnerToken.__table__, runner_rows, 1000)

    orgs = {"uni-north": ["tpp", "emis"], "uni-south": ["emis"]}
    _insert(
        engine,
        t.Org.__table__,
        [{"slug": slug, "name": slug.title(), "created_at": start} for slug in orgs],
        1000,
    )
    org_ids = _ids(engine, t.Org.__table__, "slug")
    _insert(
        engine,
        t.OrgBackend.__table__,
        [
            {"org_id": org_ids[org], "backend_id": backend_ids[b]}
            for org, usable in orgs.items()
            for b in usable
        ],
        1000,
    )

    # -- projects, members, workspaces -----------------------------------------------------
    org_of = {p: ("uni-north" if p < PROJECTS // 2 else "uni-south") for p in range(PROJECTS)}
    filled.projects = [f"study-{p + 1:02d}" for p in range(PROJECTS)]
    _insert(
        engine,
        t.Project.__table__,
        [
            {
                "org_id": org_ids[org_of[p]],
                "slug": slug,
                "name": f"Study {p + 1}",
                "number": p + 1,
                "status": "ongoing",
                "created_at": start,
            }
            for p, slug in enumerate(filled.projects)
        ],
        1000,
    )
    project_ids = _ids(engine, t.Project.__table__, "slug")
    others = usernames[2:]
    developers: dict[int, list[str]] = {}
    member_rows = []
    for p, slug in enumerate(filled.projects):
        devs = rng.sample(others, 3) + (["dev"] if p < MEMBER_PROJECTS else [])
        collaborators = rng.sample([u for u in others if u not in devs], 2)
        developers[p] = devs
        member_rows += [
            {
                "project_id": project_ids[slug],
                "user_id": user_ids[u],
                "roles": ["project_developer"] if u in devs else ["project_collaborator"],
                "created_at": start,
            }
            for u in devs + collaborators
        ]
    _insert(engine, t.ProjectMember.__table__, member_rows, 1000)

    workspace_rows = []
    for p, slug in enumerate(filled.projects):
        names = [f"{slug}-{kind}" for kind in ("main", *(f"ws{w}" for w in range(1, 10)))]
        filled.workspaces[slug] = names[:WORKSPACES_PER_PROJECT]
        workspace_rows += [
            {
                "name": name,
                "project_id": project_ids[slug],
                "repo": repo,
                "branch": "main",
                "notifications": True,
                "archived": False,
                "created_by_id": user_ids[developers[p][0]],
                "created_at": start,
            }
            for name in filled.workspaces[slug]
        ]
    _insert(engine, t.Workspace.__table__, workspace_rows, 1000)
    workspace_ids = _ids(engine, t.Workspace.__table__, "name")

    # -- job requests and jobs -------------------------------------------------------------
    # (project index, workspace name), busier and quieter workspaces, each with a home backend
    spaces = [
        (p, name) for p, slug in enumerate(filled.projects) for name in filled.workspaces[slug]
    ]
    weights = [rng.paretovariate(1.5) for _ in spaces]
    home = {
        name: "emis" if org_of[p] == "uni-south" or rng.random() < 0.3 else "tpp"
        for p, name in spaces
    }
    yamls = [project_yaml(pipeline) for pipeline in PIPELINES]
    requests_wanted = jobs // JOBS_PER_REQUEST
    step = HISTORY / max(requests_wanted, 1)
    request_rows: list[dict[str, Any]] = []
    job_rows: list[list[dict[str, Any]]] = []
    active_left = ACTIVE_REQUESTS
    for i in range(requests_wanted - 1, -1, -1):  # newest first, to mark the active ones
        p, workspace = rng.choices(spaces, weights)[0]
        pipeline = PIPELINES[p % len(PIPELINES)]
        # the member's projects stay idle at the end, so new requests there never collide
        active = active_left > 0 and p >= MEMBER_PROJECTS
        active_left -= active
        created = start + step * i + dt.timedelta(seconds=rng.uniform(0, 60))
        request_id = str(ULID.from_timestamp(created.timestamp()))
        creator = rng.choice(developers[p])
        backend = home[workspace]
        request_rows.append(
            {
                "id": request_id,
                "workspace_id": workspace_ids[workspace],
                "backend_id": backend_ids[backend],
                "sha": f"{rng.getrandbits(160):040x}",
                "actions": [pipeline[-1][0]] if rng.random() < 0.7 else ["run_all"],
                "force_run_dependencies": rng.random() < 0.2,
                "notify": True,
                "project_yaml": yamls[p % len(PIPELINES)],
                "github_token": None,
                "idempotency_key": None,
                "created_by_id": user_ids[creator],
                "created_at": created,
            }
        )
        owner = {
            "workspace_id": workspace_ids[workspace],
            "backend_id": backend_ids[backend],
            "created_by_id": user_ids[creator],
        }
        job_rows.append(
            [
                job
                | owner
                | {"cancelled_by_id": owner["created_by_id"] if job["cancel_requested"] else None}
                for job in _jobs(rng, request_id, pipeline, active, created, now, backend)
            ]
        )
        if p < MEMBER_PROJECTS and not filled.member_job_request and i < requests_wanted // 2:
            filled.member_job_request = request_id
    request_rows.reverse()  # oldest first: ids grow with time, as they would
    rows = [job for jobs_of_request in reversed(job_rows) for job in jobs_of_request]
    _insert(engine, t.JobRequest.__table__, request_rows, 2000)
    _insert(engine, t.Job.__table__, rows, 5000)
    filled.job_requests, filled.jobs = len(request_rows), len(rows)
    return filled


def _jobs(
    rng: random.Random,
    request_id: str,
    pipeline: list[tuple[str, list[str]]],
    active: bool,
    created: dt.datetime,
    now: dt.datetime,
    backend: str,
) -> list[dict[str, Any]]:
    """The five jobs of one request, their states as its outcome has them."""
    identifiers = {action: job_identifier(request_id, action) for action, _ in pipeline}
    outcome, stop = "succeeded", len(pipeline)
    if active:
        outcome, stop = "active", rng.randrange(len(pipeline) - 1)
    else:
        roll = rng.random()
        if roll < 0.09:
            outcome, stop = "failed", rng.randrange(len(pipeline))
        elif roll < 0.12:
            outcome, stop = "cancelled", rng.randrange(len(pipeline))
    states: dict[str, str] = {}
    jobs = []
    clock = created + dt.timedelta(seconds=rng.uniform(5, 120))
    for index, (action, needs) in enumerate(pipeline):
        job: dict[str, Any] = {
            "identifier": identifiers[action],
            "job_request_id": request_id,
            "action": action,
            "state": "succeeded",
            "status_message": "Completed successfully",
            "exit_code": 0,
            "run": _run(action),
            "needs": list(needs),
            "wait_for": [identifiers[n] for n in needs],
            "outputs_spec": _outputs(action),
            "requires_db": _is_db_action(action),
            "runner": backend,
            "lease_expires_at": None,
            "cancel_requested": False,
            "log_seq": rng.randrange(20, 400),
            "created_at": created,
            "started_at": clock,
            "completed_at": None,
        }
        blocked = [n for n in needs if states.get(n) != "succeeded"]
        if index < stop and not blocked:
            clock += dt.timedelta(seconds=rng.uniform(30, 3600))
            job["completed_at"] = clock
        elif outcome == "active":
            if blocked:  # waits for an unfinished job: no runner may take it yet
                job |= {"state": "pending", "status_message": "waiting for a runner (requested)"}
                job |= {"exit_code": None, "runner": None, "started_at": None, "log_seq": 0}
            else:  # the lease stays valid for the whole run, so no sweep ends it
                job |= {"state": "running", "status_message": f"started on {backend}"}
                job |= {"exit_code": None, "lease_expires_at": now + dt.timedelta(days=1)}
                job["started_at"] = now - dt.timedelta(seconds=rng.uniform(10, 3000))
        elif outcome == "failed":
            if blocked:
                job |= {"state": "failed", "exit_code": None, "runner": None, "log_seq": 0}
                job["status_message"] = f"not started: the job {identifiers[blocked[0]]} it needs"
                job["status_message"] += " did not succeed"
                job |= {"started_at": None, "completed_at": clock}
            else:
                clock += dt.timedelta(seconds=rng.uniform(30, 600))
                job |= {"state": "failed", "exit_code": 1, "completed_at": clock}
                job["status_message"] = "Job exited with an error: see the log"
        else:  # cancelled: the running job stopped, the rest never started
            clock += dt.timedelta(seconds=rng.uniform(5, 300))
            job |= {"state": "cancelled", "exit_code": None, "cancel_requested": True}
            job |= {"status_message": "cancelled by its creator", "completed_at": clock}
            if blocked:
                job |= {"runner": None, "started_at": None, "log_seq": 0}
        states[action] = job["state"]
        jobs.append(job)
    return jobs
