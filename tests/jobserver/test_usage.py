"""Usage per job (issue 24): a runner sends what a job used with its end; the job server keeps
it (a hostile figure is dropped, the end recorded all the same), shows it on the job, and sums
it per project, backend or user over a range of days for administrators, as JSON, CSV and a
page. The runners here are HTTP clients with a backend's runner token, as a runner is."""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging

import pytest
from sqlalchemy import select, update

from jupyter_ext.jobserver import orm
from jupyter_ext.schema.usage import CSV_COLUMNS

from .harness import make_repo

USED = {"cpu_seconds": 1.234, "wall_seconds": 3.4, "peak_memory_bytes": 52_000_000}


def leased(world, who: str = "dev", workspace: str = "sample", backend: str = "tpp") -> str:
    """`who` asks for generate_dataset of `workspace` on `backend`; its runner leases the job."""
    body = {"workspace": workspace, "backend": backend, "actions": ["generate_dataset"]}
    world.client(who).post("job-requests", json=body).raise_for_status()
    token = world.runner_tokens[backend]
    (lease,) = world.client(token=token).post("runner/poll", json={"wait": 0}).json()
    return lease["identifier"]


def end(world, identifier: str, usage=None, backend: str = "tpp", state: str = "succeeded"):
    body = {"state": state} if usage is None else {"state": state, "usage": usage}
    token = world.runner_tokens[backend]
    return world.client(token=token).post(f"runner/jobs/{identifier}/status", json=body)


def page(world, who: str, path: str):
    return world.client(who).get(world.base_url.removesuffix("api/v1/") + path.lstrip("/"))


@pytest.fixture
def sites(world, tmp_path):
    """A second backend (emis, also the org's), and a second project of dev2's (other-study,
    its workspace `other`)."""
    world.runner_tokens = {"tpp": world.runner_token, "emis": world.backend("emis")}
    with world.factory() as session:
        org = session.scalar(select(orm.Org).where(orm.Org.slug == "uni"))
        emis = session.scalar(select(orm.Backend).where(orm.Backend.slug == "emis"))
        session.add(orm.OrgBackend(org_id=org.id, backend_id=emis.id))
        session.commit()
    world.user("dev2")
    world.project("uni", "Other study", {"dev2": ["project_developer"]})
    make_repo(tmp_path / "repos" / "other")
    world.workspace("other-study", "other", tmp_path / "repos" / "other")
    return world


def test_a_jobs_usage_is_kept_with_its_end_and_shown_in_words(sites):
    world = sites
    job = leased(world)
    reply = end(world, job, {**USED, "bytes_written": 1_100_000})
    assert reply.status_code == 200, reply.text
    assert reply.json()["usage"] == {**USED, "bytes_written": 1_100_000}
    shown = world.client("dev").get(f"jobs/{job}").json()
    assert shown["state"] == "succeeded" and shown["usage"]["cpu_seconds"] == 1.234
    words = "CPU 1.2 s · wall 3.4 s · peak memory 52 MB · wrote 1.1 MB"
    assert words in page(world, "dev", f"/jobs/{job}").text
    # a job whose runner sent nothing has no usage, and its page says none
    bare = leased(world)
    assert end(world, bare).json()["usage"] is None
    assert 'id="usage"' not in page(world, "dev", f"/jobs/{bare}").text
    # a repeat of the end may bring figures the first report lacked, never change them
    assert end(world, bare, {"wall_seconds": 2.0}).json()["usage"]["wall_seconds"] == 2.0
    assert end(world, bare, {"wall_seconds": 9.0}).json()["usage"]["wall_seconds"] == 2.0


HOSTILE = [
    {"cpu_seconds": -1.0, "wall_seconds": 1.0},
    '{"state": "failed", "usage": {"cpu_seconds": NaN, "wall_seconds": 1.0}}',
    '{"state": "failed", "usage": {"wall_seconds": Infinity}}',
    {"wall_seconds": 1e300},
    {"wall_seconds": 1.0, "peak_memory_bytes": 2**63},
    {"wall_seconds": 1.0, "bytes_written": -5},
    {"wall_seconds": 1.0, "disk_quota": 3},
    "a lot",
]


@pytest.mark.parametrize("usage", HOSTILE, ids=range(len(HOSTILE)))
def test_a_usage_out_of_bounds_is_dropped_and_the_end_recorded(sites, usage, caplog):
    world = sites
    caplog.set_level(logging.WARNING, "jupyter_ext.jobserver")
    job = leased(world)
    token = world.runner_tokens["tpp"]
    path = f"runner/jobs/{job}/status"
    if isinstance(usage, str) and usage.startswith("{"):  # not JSON's numbers: sent as text
        reply = world.client(token=token).post(
            path, content=usage, headers={"Content-Type": "application/json"}
        )
    else:
        reply = end(world, job, usage, state="failed")
    assert reply.status_code == 200, reply.text
    assert reply.json()["state"] == "failed" and reply.json()["usage"] is None
    with world.factory() as session:
        row = session.scalar(select(orm.Job).where(orm.Job.identifier == job))
        kept = (row.cpu_seconds, row.wall_seconds, row.peak_memory_bytes, row.bytes_written)
    assert row.completed_at is not None and kept == (None, None, None, None)
    said = [r.getMessage() for r in caplog.records if "out of bounds, dropped" in r.getMessage()]
    assert said and job in said[0], caplog.text


def test_the_status_update_still_refuses_what_is_not_usage(sites):
    world = sites
    job = leased(world)
    token = world.runner_tokens["tpp"]
    reply = world.client(token=token).post(
        f"runner/jobs/{job}/status", json={"state": "failed", "usage": None, "disk": 1}
    )
    assert reply.status_code == 422


def test_usage_sums_per_project_backend_and_user_over_a_range_of_days(sites):
    world = sites
    today = dt.datetime.now(dt.UTC).date()
    first = leased(world)  # dev, sample-study, tpp
    end(
        world,
        first,
        {"cpu_seconds": 2.0, "wall_seconds": 3.0, "peak_memory_bytes": 100, "bytes_written": 10},
    )
    second = leased(world)
    end(
        world,
        second,
        {"cpu_seconds": 1.0, "wall_seconds": 1.0, "peak_memory_bytes": 300, "bytes_written": 5},
    )
    third = leased(world, "dev2", "other", "emis")
    end(world, third, {"cpu_seconds": 4.0, "wall_seconds": 8.0, "peak_memory_bytes": 50}, "emis")
    fourth = leased(world, "dev2", "other", "tpp")  # ended without figures: counted, unmeasured
    end(world, fourth, state="failed")
    old = leased(world)
    end(world, old, {"cpu_seconds": 100.0, "wall_seconds": 100.0, "bytes_written": 1000})
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
    with world.factory() as session:
        session.execute(
            update(orm.Job).where(orm.Job.identifier == old).values(completed_at=long_ago)
        )
        session.commit()
    leased(world, "dev2", "other", "emis")  # running: not ended, in no sum

    def sums(group: str, **days) -> dict[str, dict]:
        params = {"group": group, **{k: str(v) for k, v in days.items()}}
        reply = world.client("admin").get("usage", params=params)
        assert reply.status_code == 200, reply.text
        return {row.pop("name"): row for row in reply.json()}

    recent = {"from": today - dt.timedelta(days=1), "to": today + dt.timedelta(days=1)}
    assert sums("project", **recent) == {
        "other-study": {
            "group": "project",
            "jobs": 2,
            "measured": 1,
            "cpu_seconds": 4.0,
            "wall_seconds": 8.0,
            "peak_memory_bytes": 50,
            "bytes_written": 0,
        },
        "sample-study": {
            "group": "project",
            "jobs": 2,
            "measured": 2,
            "cpu_seconds": 3.0,
            "wall_seconds": 4.0,
            "peak_memory_bytes": 300,
            "bytes_written": 15,
        },
    }
    by_backend = sums("backend", **recent)
    assert {
        name: (r["jobs"], r["measured"], r["cpu_seconds"]) for name, r in by_backend.items()
    } == {
        "emis": (1, 1, 4.0),
        "tpp": (3, 2, 3.0),
    }
    by_user = sums("user", **recent)
    assert {
        name: (r["jobs"], r["wall_seconds"], r["peak_memory_bytes"]) for name, r in by_user.items()
    } == {
        "dev": (2, 4.0, 300),
        "dev2": (2, 8.0, 50),
    }
    # open ends take every ended job; a range long ago only the old one
    assert sums("user")["dev"]["jobs"] == 3 and sums("user")["dev"]["cpu_seconds"] == 103.0
    day = long_ago.date()
    assert sums("project", **{"from": day, "to": day}) == {
        "sample-study": {
            "group": "project",
            "jobs": 1,
            "measured": 1,
            "cpu_seconds": 100.0,
            "wall_seconds": 100.0,
            "peak_memory_bytes": None,
            "bytes_written": 1000,
        }
    }
    assert sums("backend", **{"from": today + dt.timedelta(days=2)}) == {}
    # CSV: a header, then the same rows
    reply = world.client("admin").get(
        "usage",
        params={"group": "project", "format": "csv", **{k: str(v) for k, v in recent.items()}},
    )
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(reply.text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [
        (r["name"], int(r["jobs"]), float(r["cpu_seconds"]), r["peak_memory_bytes"]) for r in rows
    ] == [
        ("other-study", 2, 4.0, "50"),
        ("sample-study", 2, 3.0, "300"),
    ]
    # what is asked wrongly is said so
    swapped = world.client("admin").get("usage", params={"from": str(today), "to": "2020-01-01"})
    assert swapped.status_code == 422 and "swap them" in swapped.json()["detail"]
    assert world.client("admin").get("usage", params={"group": "org"}).status_code == 422


def test_only_administrators_see_usage_and_its_page(sites):
    world = sites
    end(world, leased(world), {**USED, "bytes_written": 4096})
    for who in ("dev", "coord", "outsider"):
        refused = world.client(who).get("usage")
        assert refused.status_code == 403, who
        assert refused.json()["detail"] == f"{who} may not see what jobs used: ask an administrator"
        assert page(world, who, "/usage").status_code == 403
    shown = page(world, "admin", "/usage?group=user")
    assert shown.status_code == 200 and 'id="usage"' in shown.text
    assert '<th scope="row">dev</th>' in shown.text and "52 MB" in shown.text
    assert ">Usage</a>" in page(world, "admin", "/").text  # the navigation bar leads there
    assert ">Usage</a>" not in page(world, "dev", "/").text
    download = page(world, "admin", "/usage?group=backend&format=csv")
    assert download.headers["content-type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(download.text)))[1][:3] == ["backend", "tpp", "1"]
    assert page(world, "admin", "/usage?format=json").json()[0]["name"] == "sample-study"
