"""Table summaries and rounding rules with a real runner and the real job server (issue 23).

The runner summarises every moderately sensitive table when its job ends, on the site, and
judges it by the backend's rounding rules: the checker reads the summary (API, release page)
with no cell of it sent, and a table the rules refuse is refused in the notebook
(`client.releases.check`, with the rules the runner reported) and when its release is asked.
"""

from __future__ import annotations

import shutil

from sqlalchemy import select

from jupyter_ext import schema
from jupyter_ext.client import Client
from jupyter_ext.jobserver import orm

from .table_jobs import table_workspace
from .test_local_runner import RunnerThread, wait_for

CANARY = "canary-region-8841"
COUNTS, UNROUNDED, ROUNDED = "output/counts.csv", "output/unrounded.csv", "output/rounded.csv"
TABLES = {
    COUNTS: f"region,patients,deaths,rate\n{CANARY},1200,40,3.33\nsouth,950,[REDACTED],\n"
    "east,705,5,0.71\n",
    UNROUNDED: "region,patients\nnorth,1200\nsouth,952\n",
    ROUNDED: "region,patients\nnorth,1200\nsouth,950\n",
}


def tables_world(tmp_path):
    """The usual world, plus a workspace `tables` whose actions write TABLES."""
    actions = {path.split("/")[1].removesuffix(".csv"): path for path in TABLES}
    world = table_workspace(tmp_path, "tables", actions, TABLES)
    world.user("checker1", ["output_checker"])
    return world


def run_all(world) -> dict[str, str]:
    body = {"workspace": "tables", "backend": "tpp", "actions": ["counts", "unrounded", "rounded"]}
    request = world.client("dev").post("job-requests", json=body).json()
    done = wait_for(world, request["id"])
    assert {j["state"] for j in done["jobs"]} == {"succeeded"}, done["jobs"]
    return {j["action"]: j["identifier"] for j in done["jobs"]}


def ask(world, job: str, path: str):
    group = {
        "context": "patients by region in 2024",
        "disclosure_control": "counts rounded to 5, under 8 redacted",
        "files": [{"job": job, "path": path}],
    }
    body = {"workspace": "tables", "backend": "tpp", "groups": {"g": group}}
    return world.client("dev").post("releases", json=body)


def database_text(world) -> str:
    """Every row of every table of the job server's database, as text."""
    with world.factory() as session:
        tables = orm.Base.metadata.sorted_tables
        return "\n".join(repr(tuple(r)) for t in tables for r in session.execute(select(t)).all())


def test_the_checker_reads_the_sites_summary_and_no_cell_is_sent(tmp_path):
    world = tables_world(tmp_path)
    try:
        flag = schema.ReleaseRules(small_numbers="flag")  # the checker sees the 5 flagged
        with RunnerThread(world, tmp_path / "site", release_rules=flag, review_copies=False):
            jobs = run_all(world)
            made = ask(world, jobs["counts"], COUNTS)
            assert made.status_code == 201, made.text
        release = made.json()["id"]
        checker = world.client("checker1")
        responses = [checker.get(f"releases/{release}"), checker.get("releases/queue")]
        responses.append(checker.get("releases?workspace=tables"))
        root = world.base_url.removesuffix("api/v1/")
        page = checker.get(f"{root}uni/sample-study/tables/releases/{release}")
        responses += [page, world.client("dev").get(f"jobs/{jobs['counts']}/outputs")]
        assert all(r.status_code == 200 for r in responses), [r.text for r in responses]

        (file,) = responses[0].json()["files"]
        assert file["review_copy"] is False  # no byte of the table came
        summary = schema.TableSummary.model_validate(file["summary"])
        region, patients, deaths, rate = summary.columns
        assert (summary.rows, summary.threshold) == (3, 7)
        assert (region.name, region.numeric, region.minimum, region.markers) == (
            "region",
            False,
            None,
            {},
        )
        assert (patients.minimum, patients.minimum_above_zero, patients.maximum) == (
            705,
            705,
            1200,
        )
        assert (patients.total, patients.under_threshold, patients.rounded_to_5) == (2855, 0, True)
        assert (deaths.minimum, deaths.maximum, deaths.total, deaths.under_threshold) == (
            5,
            40,
            45,
            1,
        )
        assert deaths.markers == {"[REDACTED]": 1} and deaths.rounded_to_5
        assert (rate.minimum, rate.maximum, rate.empty) == (0.71, 3.33, 1)
        (output,) = responses[-1].json()  # the job's outputs, as its author sees them
        assert output["check"]["summary"] == file["summary"]  # the job's outputs carry it too

        html = page.text
        assert "Summary of output/counts.csv, made on its site" in html
        assert '<th scope="row"><code>patients</code></th><td>705</td>' in html
        assert (
            "<td>2,855</td>" in html and "<code>[REDACTED]</code> \N{MULTIPLICATION SIGN} 1" in html
        )
        assert "Text columns (not summarised" in html and "<code>region</code>" in html

        for response in responses:
            assert CANARY not in response.text
        stored = database_text(world)
        assert "2855" in stored  # the summary is there (the dump reads what it should)
        assert CANARY not in stored and "1200,40" not in stored  # no cell, no row
    finally:
        world.close()


def test_a_rounding_rule_refuses_an_unrounded_table_in_the_notebook_and_the_request(tmp_path):
    world = tables_world(tmp_path)
    rules = schema.ReleaseRules(rounding=schema.RoundingRules(multiple_of=5))
    site = tmp_path / "site"
    try:
        with RunnerThread(world, site, release_rules=rules, review_copies=False):
            jobs = run_all(world)
            refused = ask(world, jobs["unrounded"], UNROUNDED)
            accepted = ask(world, jobs["rounded"], ROUNDED)
        assert refused.status_code == 422
        assert refused.json()["detail"] == (
            "output/unrounded.csv fails tpp's pre-release rules: 1 count is not multiples of 5 "
            "(row 2 'patients'): round them to a multiple of 5, then run the action again"
        )
        assert accepted.status_code == 201, accepted.text
        (file,) = accepted.json()["files"]
        assert file["findings"] == [] and file["summary"]["columns"][1]["rounded_to_10"]

        # the analyst's own copy, in the notebook, under the rules the runner reported
        checkout = tmp_path / "checkout"
        for path in (UNROUNDED, ROUNDED):
            (checkout / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(site / "workspaces" / "tables" / path, checkout / path)
        root = world.base_url.removesuffix("api/v1/")
        with Client(root, token=world.tokens["dev"]) as client:
            unrounded, rounded = client.releases.check(
                [UNROUNDED, ROUNDED], backend="tpp", workspace_dir=checkout
            )
        assert unrounded.refused and [f.rule for f in unrounded.findings] == ["rounding"]
        assert unrounded.findings[0].cells == [(2, "patients")]
        assert not rounded.refused and rounded.summary.columns[1].total == 2150
    finally:
        world.close()
