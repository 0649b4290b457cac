"""The notebook toolbar's button in a real JupyterLab, driven by Chromium, against the real job
server and runner: a notebook that is not an action is added as one (the diff of project.yaml
seen first), committed and pushed with one click to the workspace's repository, and then run
on the backend with a parameter override, its request shown in the Jobs panel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ..jobserver.harness import git
from .axe import describe, serious_violations
from .test_jobs_panel import TIMEOUT, show_panel

pytestmark = pytest.mark.slow

NOTEBOOK = "analysis/explore.ipynb"


def explore_notebook() -> str:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": "# Regions at a glance"},
        {
            "cell_type": "code",
            "metadata": {"tags": ["parameters"]},
            "source": 'region = "all"\nthreshold = 5\n',
            "outputs": [],
            "execution_count": None,
        },
        {
            "cell_type": "code",
            "metadata": {},
            "source": (
                "import csv\n"
                'rows = list(csv.DictReader(open("../output/dataset.csv")))\n'
                'chosen = [r for r in rows if region == "all" or r["region"] == region]\n'
                'with open("../output/explore_counts.csv", "w") as f:\n'
                '    f.write(f"region,rows\\n{region},{len(chosen)}\\n")\n'
            ),
            "outputs": [],
            "execution_count": None,
        },
    ]
    metadata = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": cells})


@pytest.fixture(scope="module")
def checkout(lab_tmp, world) -> Path:
    """The workspace's checkout with a new notebook, not yet an action. Its origin is the
    workspace's repository itself, which takes pushes to its branch (as GitHub would)."""
    repo = lab_tmp / "repos" / "sample"
    git(repo, "config", "receive.denyCurrentBranch", "updateInstead")
    root = lab_tmp / "checkout"
    git(lab_tmp, "clone", "-q", "-b", "main", str(repo), str(root))
    (root / NOTEBOOK).write_text(explore_notebook())
    return root


def shot(page, shots, name: str) -> None:
    """A screenshot for tests/lab/artifacts/ (`shots` copies it there)."""
    shots(page, f"nbbutton-{name}")


def accessible(page, selector: str) -> None:
    if found := serious_violations(page, selector):
        pytest.fail(describe(found))


def test_add_a_notebook_as_an_action_push_it_and_run_it_with_a_parameter(
    page, lab, world, checkout, shots
):
    page.goto(lab.page_url(f"lab/tree/{NOTEBOOK}"), timeout=TIMEOUT)
    page.locator(".jp-Notebook").wait_for(timeout=TIMEOUT)
    toolbar = page.locator(".jp-NotebookPanel-toolbar")
    button = toolbar.locator('.jp-ext-nb-button[data-jp-ext-notebook-action="add"]')
    button.wait_for(timeout=TIMEOUT)
    assert button.inner_text().strip() == "Add as action"

    # Add as action, from the keyboard: the dialog opens on its first field; Escape closes it
    button.get_by_role("button").focus()
    page.keyboard.press("Enter")
    dialog = page.locator(".jp-ext-nb-dialog")
    dialog.get_by_role("button", name="Add to project.yaml").wait_for(timeout=TIMEOUT)
    page.wait_for_function("document.activeElement?.id === 'jp-ext-nb-name'")
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached")
    assert "explore" not in (checkout / "project.yaml").read_text()

    # the proposed entry, and the change it makes to project.yaml
    button.get_by_role("button").click()
    dialog.get_by_role("button", name="Add to project.yaml").wait_for(timeout=TIMEOUT)
    assert dialog.get_by_label("Name", exact=True).input_value() == "explore"
    assert dialog.get_by_label("Needs").input_value() == "generate_dataset"
    patterns = [dialog.get_by_label(f"Output {i}: file pattern").input_value() for i in (1, 2, 3)]
    assert patterns == [
        "output/explore.html",
        "output/explore_counts.csv",
        "output/explore.ipynb",
    ]
    diff = dialog.get_by_label("The change to project.yaml")
    assert "+  explore:" in diff.inner_text()
    assert "+    run: jupyter:v1 analysis/explore.ipynb" in diff.inner_text()
    accessible(page, ".jp-ext-nb-dialog")
    shot(page, shots, "add-dialog")
    dialog.get_by_role("button", name="Add to project.yaml").click()
    dialog.get_by_role("status").filter(has_text="Added explore to project.yaml").wait_for()
    assert (
        "  explore:\n    run: jupyter:v1 analysis/explore.ipynb"
        in (checkout / "project.yaml").read_text()
    )

    # one click commits project.yaml and the notebook and pushes them
    message = dialog.get_by_label("Commit message")
    assert message.input_value() == "Add explore as an action"
    accessible(page, ".jp-ext-nb-dialog")
    dialog.get_by_role("button", name="Commit and push").click()
    dialog.locator(".jp-ext-nb-pushed", has_text="and pushed main").wait_for(timeout=TIMEOUT)
    shot(page, shots, "pushed")
    repo = checkout.parent / "repos" / "sample"
    assert git(repo, "log", "-1", "--format=%s", "main") == "Add explore as an action"
    assert sorted(git(repo, "show", "--name-only", "--format=", "main").splitlines()) == [
        NOTEBOOK,
        "project.yaml",
    ]
    dialog.get_by_role("button", name="Close").click()
    dialog.wait_for(state="detached")

    # now it is an action: Run on backend, with the config's or notebook's values to change
    button = toolbar.locator('.jp-ext-nb-button[data-jp-ext-notebook-action="run"]')
    button.wait_for(timeout=TIMEOUT)
    assert button.inner_text().strip() == "Run on backend"
    button.get_by_role("button").click()
    dialog = page.locator(".jp-ext-nb-dialog")
    region = dialog.get_by_label("region", exact=True)
    region.wait_for(timeout=TIMEOUT)
    assert region.input_value() == "all"
    assert dialog.get_by_label("threshold", exact=True).input_value() == "5"
    assert dialog.get_by_label("Backend", exact=True).input_value() == "tpp"
    dialog.get_by_label("threshold", exact=True).fill("five")  # not a whole number
    dialog.get_by_text("threshold: type a whole number").wait_for()
    assert dialog.get_by_role("button", name="Run", exact=True).is_disabled()
    dialog.get_by_label("threshold", exact=True).fill("5")  # as it was: not sent
    region.fill("north")
    accessible(page, ".jp-ext-nb-dialog")
    shot(page, shots, "run-dialog")
    region.press("Enter")  # submits the form, as the Run button does
    dialog.wait_for(state="detached", timeout=TIMEOUT)

    # the request, made with the override only, is open in the Jobs panel
    panel = show_panel(page)
    detail = panel.locator(".jp-ext-request-detail")
    detail.locator(".jp-ext-job-name", has_text="explore").wait_for(timeout=TIMEOUT)
    requests = world.client("dev").get("job-requests", params={"workspace": "sample"}).json()
    made = requests["items"][0]
    assert made["actions"] == ["explore"]
    assert made["parameters"] == {"explore": {"region": "north"}}
    assert made["sha"] == git(repo, "rev-parse", "main")  # the pushed commit
    explore = next(j for j in made["jobs"] if j["action"] == "explore")
    assert explore["parameters"] == {"region": "north"}
    shot(page, shots, "request-in-panel")
    # the runner takes it: the request ends (before the runner is stopped with the module)
    ended = ".jp-ext-state-succeeded, .jp-ext-state-failed"
    detail.locator(":scope > .jp-ext-row").locator(ended).wait_for(timeout=TIMEOUT * 3)
    made = world.client("dev").get(f"job-requests/{made['id']}").json()
    states = {j["action"]: (j["state"], j["status_message"]) for j in made["jobs"]}
    assert states["explore"][0] == "succeeded", states
    said = detail.locator(".jp-ext-job-parameters")  # the job it follows: the notebook's
    said.filter(has_text='Parameters: region="north"').wait_for(timeout=TIMEOUT)
    explore = next(j for j in made["jobs"] if j["action"] == "explore")
    outputs = world.client("dev").get(f"jobs/{explore['identifier']}/outputs").json()
    assert {o["path"] for o in outputs} >= {"output/explore.html", "output/explore_counts.csv"}
    shot(page, shots, "request-succeeded")

    # config the notebook does not declare (pushed from a terminal): a field of its own, and
    # the request's warning said in the dialog
    project = checkout / "project.yaml"
    project.write_text(
        project.read_text().replace(
            "    run: jupyter:v1 analysis/explore.ipynb\n",
            "    run: jupyter:v1 analysis/explore.ipynb\n    config: {threshold: 7, colour: red}\n",
        )
    )
    git(checkout, "commit", "-q", "-am", "explore: a threshold and a colour")
    git(checkout, "push", "-q", "origin", "main")
    button.get_by_role("button").click()
    dialog.get_by_label("colour", exact=True).wait_for(timeout=TIMEOUT)
    assert dialog.get_by_label("threshold", exact=True).input_value() == "7"
    assert dialog.get_by_label("colour", exact=True).input_value() == "red"
    assert dialog.locator(".jp-ext-warning").count() == 0  # pushed: nothing to warn of
    dialog.get_by_role("button", name="Run", exact=True).click()
    said = dialog.get_by_role("list", name="Warnings of the job request")
    said.wait_for(timeout=TIMEOUT)
    assert "does not declare the parameter colour" in said.inner_text()
    accessible(page, ".jp-ext-nb-dialog")
    shot(page, shots, "request-warnings")
    dialog.get_by_role("button", name="Close").click()
    dialog.wait_for(state="detached")
    second = world.client("dev").get("job-requests", params={"workspace": "sample"}).json()
    assert second["items"][0]["parameters"] == {}  # nothing changed: no override
    detail.locator(":scope > .jp-ext-row").locator(ended).wait_for(timeout=TIMEOUT * 3)
    assert not page.errors, page.errors
