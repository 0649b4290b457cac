"""The workspace page's Schedules section: made, paused, resumed, run now and deleted from
its forms, each only by whom the permission table lets, with the services' sentences."""

from __future__ import annotations

from jupyter_ext.jobserver import orm

from .test_admin_pages import after, count, post, problem
from .test_pages import get
from .test_schedules import FIRST, with_clock

HERE = "/uni/sample-study/sample"
FORM = {
    "actions": "generate_dataset",
    "backends": "tpp",
    "cron": "0 6 * * 1",
    "timezone": "Europe/London",
}


def test_schedules_are_made_and_changed_from_the_workspace_page(world):
    with_clock(world)
    page = get(world, "dev", HERE)
    assert 'id="schedule-form"' in page.text and "No schedule yet." in page.text
    assert 'id="schedule-form"' not in get(world, "collab", HERE).text
    refused = post(world, "dev", f"{HERE}/schedules", {**FORM, "cron": "*/10 * * * *"})
    assert refused.status_code == 422 and "fires every 10 minutes" in problem(refused)
    unknown = post(world, "dev", f"{HERE}/schedules", {**FORM, "cron": "x"})
    assert unknown.status_code == 422 and "is not a cron expression" in problem(unknown)
    assert post(world, "collab", f"{HERE}/schedules", FORM).status_code == 403
    assert count(world, orm.Schedule) == 0
    made = post(world, "dev", f"{HERE}/schedules", {**FORM, "title": "weekly"})
    assert after(made) == HERE
    (schedule,) = world.client("dev").get("schedules").json()["items"]
    shown = get(world, "dev", f"{HERE}?done=schedule-created").text
    assert "The schedule is made" in shown and "Mondays at 06:00" in shown
    assert "Mon 14 Dec 06:00 Europe/London" in shown and "Not fired yet." in shown
    url = f"{HERE}/schedules/{schedule['id']}"
    assert f'action="{url}/run-now"' in shown and f'action="{url}/delete"' in shown
    coord = get(world, "coord", HERE).text
    assert f'action="{url}/pause"' in coord and f'action="{url}/run-now"' not in coord
    assert f'action="{url}/pause"' not in get(world, "collab", HERE).text

    assert post(world, "collab", f"{url}/pause").status_code == 403
    assert after(post(world, "coord", f"{url}/pause")) == HERE
    assert f'action="{url}/resume"' in get(world, "dev", HERE).text
    assert after(post(world, "dev", f"{url}/resume")) == HERE
    world.clock.at = FIRST
    assert after(post(world, "dev", f"{url}/run-now")) == HERE
    page = get(world, "dev", f"{HERE}?done=schedule-run-now").text
    (fired,) = world.client("dev").get(f"schedules/{schedule['id']}/history").json()["items"]
    assert f'href="/job-requests/{fired["job_request"]}"' in page and "run now" in page
    made_by = get(world, "dev", f"/job-requests/{fired['job_request']}").text
    assert f'id="made-by-schedule">made by a firing of <a href="{HERE}#schedules">' in made_by
    again = post(world, "dev", f"{url}/run-now")  # its job is pending: nothing to do
    assert again.status_code == 409 and "nothing to do" in problem(again)
    assert post(world, "coord", f"{url}/delete").status_code == 403
    assert post(world, "dev", f"{url}/explode").status_code == 404
    assert after(post(world, "dev", f"{url}/delete")) == HERE
    assert "No schedule yet." in get(world, "dev", HERE).text
