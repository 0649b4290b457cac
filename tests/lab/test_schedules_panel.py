"""The Jobs panel's Schedules section in a real JupyterLab driven by Chromium (its clock in
London), against the real job server and a real runner.

The analyst opens "New schedule": the time zone is the browser's. A cron expression the job
server cannot read is refused in its sentence, with nothing made. Weekly on Monday at 06:00
makes a schedule, listed with when it fires in words, its zone and its next firing in that
zone. It is paused (no next firing) and resumed; run now, its firing is listed and opens its
job request in the panel, where the runner runs it. Deleting asks first. axe finds nothing
serious in the section at each step, and screenshots at the panel's width go to /tmp.
"""

from __future__ import annotations

import re

import pytest

from .axe import describe, serious_violations
from .conftest import ARTIFACTS
from .test_jobs_panel import TIMEOUT, open_panel

pytestmark = pytest.mark.slow

ZONE = "Europe/London"


@pytest.fixture
def page(browser, request, lab):
    """As conftest's `page`, with the browser's clock in London."""
    context = browser.new_context(viewport={"width": 1400, "height": 900}, timezone_id=ZONE)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.errors = errors
    try:
        yield page
        if getattr(request.node, "failed_call", False):
            shot(page, f"failed-{request.node.name}")
            print(lab.log.read_text()[-4000:])
    finally:
        context.close()


def shot(page, name: str) -> None:
    """The Jobs panel as drawn (at its width), in tests/lab/artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator("#jupyter-ext-jobs").screenshot(path=ARTIFACTS / f"schedules-{name}.png")


def accessible(page) -> None:
    if found := serious_violations(page, ".jp-ext-section-schedules"):
        pytest.fail(describe(found))


def schedules(world) -> list[dict]:
    return world.client("dev").get("schedules", params={"workspace": "sample"}).json()["items"]


def test_a_weekly_schedule_made_paused_resumed_run_now_and_deleted_from_the_panel(page, lab, world):
    panel = open_panel(page, lab)
    section = panel.locator(".jp-ext-section-schedules")
    section.get_by_text("No schedules yet").wait_for(timeout=TIMEOUT)
    section.get_by_role("button", name="New schedule").click()
    form = section.get_by_role("form", name="New schedule")
    assert form.get_by_label("Time zone").input_value() == ZONE  # the browser's
    assert form.get_by_label("When").input_value() == "weekly"
    assert form.get_by_label("Cron expression").input_value() == "0 6 * * 1"
    assert form.get_by_role("checkbox", name="TPP").is_checked()  # as the panel chose
    form.get_by_label("Title (optional)").fill("Weekly tables")
    form.get_by_role("checkbox", name="make_table").check()

    # a cron expression the job server cannot read: its sentence, nothing made
    cron = form.get_by_label("Cron expression")
    cron.fill("every monday")
    assert form.get_by_label("When").input_value() == "custom"
    cron.press("Enter")  # the keyboard sends the form
    refusal = form.get_by_role("alert")
    refusal.wait_for(timeout=TIMEOUT)
    assert "is not a cron expression" in refusal.inner_text()
    assert schedules(world) == []
    accessible(page)
    shot(page, "1-bad-cron")

    # weekly on Monday at 06:00, in London
    form.get_by_label("When").select_option("weekly")
    assert form.get_by_label("Cron expression").input_value() == "0 6 * * 1"
    form.get_by_role("button", name="Create schedule").click()
    item = section.get_by_role("listitem").filter(has_text="Weekly tables").first
    item.wait_for(timeout=TIMEOUT)
    assert not form.count()  # the form closed
    focused = "document.activeElement.getAttribute('aria-labelledby')"
    assert page.evaluate(focused).startswith("jp-ext-schedule-")  # focus moved to the new one
    [made] = schedules(world)
    assert made["actions"] == ["make_table"] and made["backends"] == ["tpp"]
    assert (made["cron"], made["timezone"], made["title"]) == ("0 6 * * 1", ZONE, "Weekly tables")
    assert re.fullmatch(rf"Mon \d\d \w{{3}} 06:00 {ZONE}", made["next_said"]), made
    assert item.locator(".jp-ext-schedule-when").inner_text() == f"Mondays at 06:00, {ZONE}"
    next_line = item.locator(".jp-ext-schedule-next")
    assert next_line.inner_text() == f"Next: {made['next_said']}"
    assert item.locator(".jp-ext-state").first.inner_text() == "active"
    accessible(page)
    shot(page, "2-made")

    # paused: no next firing; resumed: the next one again
    item.get_by_role("button", name="Pause Weekly tables").click()
    next_line.filter(has_text="Paused").wait_for(timeout=TIMEOUT)
    assert item.locator(".jp-ext-state").first.inner_text() == "paused"
    assert schedules(world)[0]["state"] == "paused"
    shot(page, "3-paused")
    item.get_by_role("button", name="Resume Weekly tables").click()
    next_line.filter(has_text=f"Next: {made['next_said']}").wait_for(timeout=TIMEOUT)
    assert schedules(world)[0]["state"] == "active"

    # run now: its firing listed, opening its job request, which the runner runs
    item.get_by_role("button", name="Run now Weekly tables").click()
    firings = item.get_by_role("list", name="Last firings of Weekly tables")
    firing = firings.get_by_role("listitem").first
    firing.get_by_text("run now by dev").wait_for(timeout=TIMEOUT)
    assert firing.locator(".jp-ext-state").first.inner_text() == "fired"
    [fired] = world.client("dev").get(f"schedules/{made['id']}/history").json()["items"]
    assert fired["trigger"] == "run_now" and fired["job_request"]
    firing.locator(".jp-ext-state-succeeded").wait_for(timeout=TIMEOUT)  # live, by events
    accessible(page)
    shot(page, "4-run-now")
    firing.get_by_role("button", name="Open job request").click()
    detail = panel.locator(
        f'.jp-ext-request-detail[aria-label="Job request {fired["job_request"]}"]'
    )
    detail.wait_for(timeout=TIMEOUT)
    detail.get_by_role("button", name=re.compile("^make_table")).wait_for(timeout=TIMEOUT)
    assert detail.locator(":scope > .jp-ext-row .jp-ext-state").inner_text() == "succeeded"
    shot(page, "5-job-request")
    panel.get_by_role("button", name="← All requests").click()

    # deleting asks first; cancelled, it stays
    item.get_by_role("button", name="Delete Weekly tables").click()
    dialog = page.locator(".jp-Dialog")
    dialog.get_by_text("will never fire again").wait_for(timeout=TIMEOUT)
    page.screenshot(path=ARTIFACTS / "schedules-6-delete-dialog.png")
    dialog.get_by_role("button", name="Cancel").click()
    assert schedules(world)[0]["state"] == "active"
    item.get_by_role("button", name="Delete Weekly tables").click()
    dialog.get_by_role("button", name="Delete").click()
    section.get_by_text("No schedules yet").wait_for(timeout=TIMEOUT)
    assert schedules(world) == []
    deleted = world.client("dev").get(f"schedules/{made['id']}").json()
    assert deleted["state"] == "deleted"
    assert not page.errors, page.errors


def test_anothers_schedule_offers_what_its_rules_allow_and_shows_the_refusal(page, lab, world):
    """dev may not run another developer's schedule now or delete it (said beside the
    buttons, which wait); pausing it is for a coordinator: the job server's sentence shows."""
    admin = world.client("admin")
    if "dev2" not in world.tokens:
        world.user("dev2")
        member = {"username": "dev2", "roles": ["project_developer"]}
        admin.post("projects/sample-study/members", json=member).raise_for_status()
    body = {
        "workspace": "sample",
        "title": "Daily data",
        "actions": ["generate_dataset"],
        "backends": ["tpp"],
        "cron": "0 6 * * *",
        "timezone": "UTC",
    }
    made = world.client("dev2").post("schedules", json=body)
    assert made.status_code == 201, made.text
    panel = open_panel(page, lab)
    item = panel.locator(".jp-ext-schedule").filter(has_text="Daily data")
    item.wait_for(timeout=TIMEOUT)
    assert item.locator(".jp-ext-schedule-when").inner_text() == "Every day at 06:00, UTC"
    assert item.get_by_role("button", name="Run now Daily data").is_disabled()
    assert item.get_by_role("button", name="Delete Daily data").is_disabled()
    assert item.get_by_text("Only dev2 may run it now or delete it: it runs as them.").is_visible()
    item.get_by_role("button", name="Pause Daily data").click()
    refusal = item.get_by_role("alert")
    refusal.wait_for(timeout=TIMEOUT)
    assert refusal.inner_text().startswith("dev may not pause or resume the schedules of others")
    assert world.client("dev2").get(f"schedules/{made.json()['id']}").json()["state"] == "active"
    accessible(page)
    shot(page, "7-anothers-refused")

    # the dark theme draws it too, the form open
    panel.locator(".jp-ext-section-schedules").get_by_role("button", name="New schedule").click()
    page.evaluate(
        "() => window.jupyterapp.commands.execute('apputils:change-theme', "
        "{theme: 'JupyterLab Dark'})"
    )
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(500)  # the theme's stylesheet applied: for the screenshot only
    accessible(page)
    shot(page, "8-dark-theme")
    world.client("dev2").delete(f"schedules/{made.json()['id']}").raise_for_status()
    assert not page.errors, page.errors
