"""The classic differencing attack, with a real runner and the real job server (issue 23).

A job writes patients by region (the totals); it is asked for, approved twice, published
and uploaded by the runner. Another job writes patients by region except the over-90s (each
region's total less the few over 90). Its release is asked for twice: once before the totals
are published (that review gets the overlap once they are) and once after (it has it as soon
as its review copy comes). The checker's view, API and page, names the released table and
flags the cells by row and column, never a value; a table of another shape overlaps nothing.
"""

from __future__ import annotations

import re
import time

from jupyter_ext.jobserver import orm

from .table_jobs import table_workspace
from .test_local_runner import RunnerThread, wait_for
from .test_uploads import publish, wait_served

TOTALS, UNDER_90, BY_SEX = (
    "output/by_region.csv",
    "output/under_90_by_region.csv",
    "output/by_sex.csv",
)
TABLES = {
    TOTALS: "region,patients,deaths\nnorth,1200,40\nsouth,950,31\neast,700,20\nwest,400,9\n",
    # north had 2 patients over 90 and 1 of them died; east had 9 (over the threshold of 7)
    UNDER_90: "region,patients,deaths\nnorth,1198,39\nsouth,950,31\neast,691,20\nwest,400,9\n",
    BY_SEX: "sex,patients,deaths\nf,1650,52\nm,1600,48\n",
}
ACTIONS = {"by_region": TOTALS, "under_90": UNDER_90, "by_sex": BY_SEX}
VALUES = ("1198", "1200", "39", "40", "north", "691", "700")
PAGE = "uni/sample-study/attack/releases"


def attack_world(tmp_path):
    """The usual world, plus a workspace `attack` whose actions write TABLES."""
    world = table_workspace(tmp_path, "attack", ACTIONS, TABLES)
    for name in ("checker1", "checker2"):
        world.user(name, ["output_checker"])
    return world


def ask(world, job: str, path: str) -> tuple[str, str]:
    """`dev` asks for one output of the attack workspace: (release id, file id)."""
    group = {
        "context": "patients and deaths by region in 2024",
        "disclosure_control": "no count under 8",
        "files": [{"job": job, "path": path}],
    }
    made = world.client("dev").post(
        "releases", json={"workspace": "attack", "backend": "tpp", "groups": {"g": group}}
    )
    assert made.status_code == 201, made.text
    return made.json()["id"], made.json()["files"][0]["id"]


def file_of(world, who: str, release_id: str) -> dict:
    (file,) = world.client(who).get(f"releases/{release_id}").json()["files"]
    return file


def wait_compared(world, file_id: str, overlaps: int = 0, timeout: float = 30) -> None:
    """Until the file's review copy has come and been compared, with `overlaps` or more."""
    deadline = time.monotonic() + timeout
    while True:
        with world.factory() as session:
            found = session.get(orm.ReleaseFile, file_id).differencing
        if found is not None and len(found["overlaps"]) >= overlaps:
            return
        assert time.monotonic() < deadline, f"{file_id} was never compared ({found})"
        time.sleep(0.2)


def differencing(file: dict) -> list[dict]:
    return [f for f in file["findings"] if f["rule"] == "differencing"]


def test_the_classic_attack_is_flagged_for_the_checker(tmp_path):
    world = attack_world(tmp_path)
    try:
        with RunnerThread(world, tmp_path / "site"):
            body = {"workspace": "attack", "backend": "tpp", "actions": list(ACTIONS)}
            request = world.client("dev").post("job-requests", json=body).json()
            done = wait_for(world, request["id"])
            assert {j["state"] for j in done["jobs"]} == {"succeeded"}, done["jobs"]
            jobs = {j["action"]: j["identifier"] for j in done["jobs"]}

            # asked for before the totals are released: nothing to overlap yet
            pending, pending_file = ask(world, jobs["under_90"], UNDER_90)
            wait_compared(world, pending_file)
            assert file_of(world, "checker1", pending)["overlaps"] == []

            # the totals: asked for, approved twice, published, uploaded by the runner
            totals, totals_file = ask(world, jobs["by_region"], TOTALS)
            for name in ("checker1", "checker2"):
                vote = f"releases/{totals}/files/{totals_file}/reviews"
                approve = {"decision": "approve"}
                assert world.client(name).post(vote, json=approve).status_code == 201
            world.release_id = totals
            publish(world)
            assert wait_served(world, totals_file).decode() == TABLES[TOTALS]

            # the pending review now overlaps them, as its author and its checkers see
            wait_compared(world, pending_file, overlaps=1)
            for who in ("dev", "checker1"):
                (overlap,) = file_of(world, who, pending)["overlaps"]
                assert (overlap["file"], overlap["path"]) == (totals_file, TOTALS), who

            # asked for after: compared when its review copy comes
            fresh, fresh_file = ask(world, jobs["under_90"], UNDER_90)
            wait_compared(world, fresh_file, overlaps=1)
            other, other_file = ask(world, jobs["by_sex"], BY_SEX)
            wait_compared(world, other_file)

        file = file_of(world, "checker1", fresh)
        assert file["review_copy"] is True
        assert file["overlaps"] == [
            {
                "file": totals_file,
                "release": totals,
                "workspace": "attack",
                "path": TOTALS,
                "rows": 4,
                "cells": [[1, "deaths"], [1, "patients"]],
                "flagged": 2,
            }
        ]
        (finding,) = differencing(file)
        assert finding["verdict"] == "flag"
        assert finding["cells"] == [[1, "deaths"], [1, "patients"]]
        assert f"the released table '{TOTALS}'" in finding["message"]
        assert [v for v in VALUES if v in finding["message"]] == []

        # the review page: the overlap linked to the released file, the finding by its cells
        root = world.base_url.removesuffix("api/v1/")
        page = world.client("checker1").get(f"{root}{PAGE}/{fresh}")
        assert page.status_code == 200, page.text
        section = page.text[page.text.index(f'id="overlaps-{fresh_file}"') :]
        section = section[: section.index("</div>")]
        assert "Overlaps released tables" in section
        assert f'/{PAGE}/{totals}/files/{totals_file}"><code>{TOTALS}</code></a>' in section
        assert "4 rows shared, 2 cells differ by a small count" in " ".join(section.split())
        assert finding["message"].replace("'", "&#39;") in page.text
        words = re.sub(r"<[^>]*>|[0-9A-Z]{26}", " ", section)  # no tags, no ids
        assert [v for v in VALUES if v in words] == []
        released = world.client("checker1").get(f"{root}{PAGE}/{totals}/files/{totals_file}")
        assert released.status_code == 200

        # a table of another shape overlaps nothing
        assert file_of(world, "checker1", other)["overlaps"] == []
        assert differencing(file_of(world, "checker1", other)) == []
    finally:
        world.close()
