"""Asking for a release from the Jobs panel and reviewing it from another's, in Chromium.

The analyst (`dev`) checks a table their job made against the backend's pre-release rules,
sees what they flag, and asks for its release with a context and a statement of disclosure
control; an output checker (`checker1`, in their own JupyterLab) finds it in the Review
section with the finding and votes; the analyst's panel, never refreshed, shows the vote
counted as it happens (the job server's `release` events), and a JupyterLab notification
when the checkers ask for changes.
"""

from __future__ import annotations

import pytest

from ..runner.test_local_runner import wait_for
from ..test_state_palette import palette, rgb
from .conftest import running_lab, serving_world
from .test_jobs_panel import TIMEOUT, open_panel

pytestmark = pytest.mark.slow

TABLE = "output/table_by_region.csv"
# this site flags (not refuses) counts up to 10: the sample table's 10 in row 5 is one
RULES = {"small_number_threshold": 10, "small_numbers": "flag"}


@pytest.fixture(scope="module")
def world(lab_tmp):
    from jupyter_ext import schema

    yield from serving_world(lab_tmp, release_rules=schema.ReleaseRules(**RULES))


@pytest.fixture(scope="module")
def checker_lab(lab_tmp, world, checkout):
    with running_lab(lab_tmp, world, checkout, user="checker1") as lab:
        yield lab


@pytest.fixture(scope="module")
def table_job(world) -> str:
    """make_table (with the two actions it needs) run on the backend: its job's identifier."""
    body = {"workspace": "sample", "backend": "tpp", "actions": ["make_table"]}
    made = world.client("dev").post("job-requests", json=body)
    assert made.status_code == 201, made.text
    request = wait_for(world, made.json()["id"])
    assert request["state"] == "succeeded", request
    return next(j["identifier"] for j in request["jobs"] if j["action"] == "make_table")


def test_check_request_and_review_a_release(
    page, browser, lab, checker_lab, world, table_job, shots
):
    from playwright.sync_api import expect  # installed where the browser fixture is

    # the analyst opens the job that made the table: its releasable output, with a checkbox
    panel = open_panel(page, lab)
    panel.locator(".jp-ext-request", has_text="make_table").first.click()
    panel.locator(".jp-ext-job", has_text="make_table").click()
    form = panel.get_by_role("form", name="Request a release")
    form.get_by_role("checkbox", name=TABLE).check(timeout=TIMEOUT)
    assert panel.locator(".jp-ext-section-review").count() == 0  # not an output checker

    # Check: the site's rules flag the small count, by row and column (never its value)
    form.get_by_role("button", name="Check", exact=True).click()
    check = form.locator(".jp-ext-check")
    check.wait_for(timeout=TIMEOUT)
    assert "jp-ext-check-flag" in check.get_attribute("class")
    summary = check.locator(".jp-ext-check-summary").inner_text()
    assert "Flagged: 1 finding for the checkers" in summary and "7 rows" in summary
    finding = check.locator(".jp-ext-finding-flag").inner_text()
    assert "Flagged (small numbers)" in finding and "row 5 'with_condition'" in finding
    form.scroll_into_view_if_needed()
    shots(page, "20-release-checked")

    # the request: a flag lets it go to the checkers, with what the analyst says of it
    submit = form.get_by_role("button", name="Request release")
    assert submit.is_disabled()  # no group, context or disclosure control yet
    form.get_by_label("Group", exact=True).fill("tables")
    form.get_by_label("Context", exact=True).fill("Counts of the condition by region, 2024")
    form.get_by_label("Disclosure control", exact=True).fill("Rounded to 5; under 7 redacted")
    submit.click()
    card = panel.locator('[aria-label="Release requested"] .jp-ext-release-card')
    card.wait_for(timeout=TIMEOUT)
    assert card.locator(".jp-ext-state").first.inner_text() == "requested"
    shown = card.locator(".jp-ext-state").first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert shown == rgb(palette("panel")["requested"])  # the colour of the pages and the hub
    assert TABLE in card.inner_text() and "Rounded to 5" in card.inner_text()
    (release,) = world.client("dev").get("releases", params={"state": "requested"}).json()["items"]
    file = release["files"][0]
    assert (file["path"], file["job"], file["state"]) == (TABLE, table_job, "requested")
    assert release["groups"]["tables"]["context"] == "Counts of the condition by region, 2024"
    requests = panel.locator(".jp-ext-section-release-requests")
    requests.locator(f'[aria-label="Release {release["id"]}"]').wait_for()
    mine = requests.locator(f'[aria-label="Release {release["id"]}"] .jp-ext-release-file')
    assert mine.locator(".jp-ext-state").inner_text() == "requested"
    shots(page, "21-release-requested")

    # the checker, in their own JupyterLab, finds it waiting for their vote
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    checker, errors = context.new_page(), []
    checker.on("pageerror", lambda error: errors.append(str(error)))
    try:
        review = open_panel(checker, checker_lab).locator(".jp-ext-section-review")
        card = review.locator(f'[aria-label="Release {release["id"]}"]')
        card.wait_for(timeout=TIMEOUT)
        assert "1 waiting for you" in review.locator("summary").inner_text()
        text = card.inner_text()
        assert "by dev" in text and "Counts of the condition by region" in text
        assert "Flagged (small numbers)" in card.locator(".jp-ext-finding-flag").inner_text()
        assert "region, population, with_condition, rate_per_1000" in text
        # the summary made on the site: a table with its caption, text columns named only
        table = card.get_by_role("table", name=f"Summary of {TABLE}, made on its site")
        assert table.get_by_role("rowheader", name="population").count() == 1
        assert "Text columns (not summarised): region" in text
        vote = card.get_by_role("group", name=f"Vote on {TABLE}")
        vote.get_by_label(f"Comment on {TABLE}").fill("Row 5 is rounded: fine to release")
        shots(checker, "22-review-waiting")
        vote.get_by_role("button", name="Approve").click()
        # the answer replaces the release in place: the vote, and the file now in review
        card.get_by_role("status").filter(has_text="Your vote: Approve").wait_for(timeout=TIMEOUT)
        assert card.locator(".jp-ext-release-file .jp-ext-state").inner_text() == "in review"
        assert "checker1: Approve — Row 5 is rounded" in card.locator(".jp-ext-votes").inner_text()
        assert "waiting for you" not in review.locator("summary").inner_text()
        shots(checker, "23-review-voted")
        assert not errors, errors
    except Exception:
        print(f"screenshot: {shots(checker, 'failed-review')}")
        print(checker_lab.log.read_text()[-4000:])
        raise
    finally:
        context.close()
    seen = world.client("checker1").get(f"releases/{release['id']}").json()["files"][0]
    assert [(r["reviewer"], r["decision"]) for r in seen["reviews"]] == [("checker1", "approve")]

    # the analyst's panel, never refreshed (and with no poll of releases), follows the vote
    # live: the file in review, the other vote still hidden; the job's card too
    mine.locator(".jp-ext-state", has_text="in review").wait_for(timeout=TIMEOUT)
    assert mine.locator(".jp-ext-votes").count() == 0
    made = panel.locator('[aria-label="Release requested"] .jp-ext-release-file .jp-ext-state')
    made.filter(has_text="in review").wait_for(timeout=TIMEOUT)
    shots(page, "24-release-followed-live")

    # both checkers ask for changes (checker1 changing their vote): one notification for the
    # analyst, naming the file and the release, and the file's new state in place
    url = f"releases/{release['id']}/files/{file['id']}/reviews"
    asked = {"decision": "request_changes", "comment": "Round row 5 to 5"}
    assert world.client("checker2").post(url, json=asked).status_code == 201
    assert world.client("checker1").put(url, json=asked).status_code == 200
    toast = page.locator(".jp-Notification-Toast-warning", has_text="Changes requested")
    toast.wait_for(timeout=TIMEOUT)
    short = release["id"][-8:]
    assert f"Changes requested to {TABLE} in your release “tables” ({short})" in toast.inner_text()
    mine.locator(".jp-ext-state", has_text="changes requested").wait_for(timeout=TIMEOUT)
    assert "Round row 5 to 5" in mine.locator(".jp-ext-votes").inner_text()
    expect(toast).to_be_in_viewport(ratio=1, timeout=TIMEOUT)  # slid in: for the screenshot
    shots(page, "25-release-changes-requested")
    assert page.locator(".jp-Notification-Toast-warning").count() == 1  # not one per vote
    assert not page.errors, page.errors
