"""A table's summary on the review page, read in Chromium: a real table (caption, header
cells with their scope) that axe-core finds nothing serious in, with no text cell of the
table, whose summary alone the site sent."""

from __future__ import annotations

import pytest

from jupyter_ext import schema

from ..lab.axe import describe, serious_violations
from ..lab.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS
from .conftest import build_world
from .harness import JobServer
from .test_pages import root
from .test_review import finished

TABLE = b"region,patients,deaths,rate\ncanary-north,1200,[REDACTED],3.3\nsouth,955,5,\n"


def test_the_summary_on_the_review_page_is_clean_for_axe_core(tmp_path):
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM}: apt-get install chromium (.ci/install-system.sh)")
    from playwright.sync_api import sync_playwright

    on_site = tmp_path / "counts.csv"
    on_site.write_bytes(TABLE)
    check = schema.check_file(on_site, schema.ReleaseRules(small_numbers="flag"), "output/c.csv")
    server = JobServer(f"sqlite:///{tmp_path / 'js.sqlite'}", tmp_path)
    try:
        world = build_world(server, tmp_path)
        world.user("checker1", ["output_checker"])
        job = finished(world, {"output/c.csv": TABLE}, {"output/c.csv": check.model_dump()})
        group = {
            "context": "patients by region",
            "disclosure_control": "under 8 redacted",
            "files": [{"job": job, "path": "output/c.csv"}],
        }
        body = {"workspace": "sample", "backend": "tpp", "groups": {"g": group}}
        made = world.client("dev").post("releases", json=body)
        assert made.status_code == 201, made.text
        release = made.json()["id"]
        headers = {"Authorization": f"Bearer {world.tokens['checker1']}"}
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                context = browser.new_context(
                    extra_http_headers=headers, viewport={"width": 1280, "height": 900}
                )
                page = context.new_page()
                url = f"{root(world)}uni/sample-study/sample/releases/{release}"
                assert page.goto(url).status == 200
                table = page.get_by_role("table", name="Summary of output/c.csv")
                assert table.get_by_role("columnheader", name="Min > 0").count() == 1
                patients = table.get_by_role("row", name="patients")
                assert patients.get_by_role("cell").all_inner_texts() == [
                    "955",
                    "955",
                    "1,200",
                    "2,155",
                    "0",
                    "to 5",
                    "none",
                ]
                assert (
                    "[REDACTED] \N{MULTIPLICATION SIGN} 1"
                    in table.get_by_role("row", name="deaths").inner_text()
                )
                assert "canary" not in page.content()
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "table-summary.png"), full_page=True)
                found = serious_violations(page)
                assert found == [], describe(found)
            finally:
                browser.close()
    finally:
        server.close()
