"""A notebook action's parameters, checked when a job request is made, before anything is
written: the action's config, then the request's overrides, against the notebook at the
commit; the lease carries the values, the request the overrides."""

from __future__ import annotations

import json
import shutil

import pytest

from tests.conftest import SAMPLE_PROJECT

from .harness import git, make_repo
from .test_study_runs import two_sites

NOTEBOOK_ACTION = """
  explore:
    run: jupyter:v1 analysis/explore.ipynb
    needs: [generate_dataset]
    config:
      threshold: 10
    outputs:
      moderately_sensitive:
        report: output/explore.html
      highly_sensitive:
        notebook: output/explore.ipynb
"""


def explore_notebook(parameters: str = 'region = "all"\nthreshold = 5\n') -> str:
    cells = [
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": parameters},
        {"cell_type": "code", "metadata": {}, "source": "print(region, threshold)"},
    ]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


@pytest.fixture
def nb_world(world, tmp_path):
    return add_notebook_workspace(world, tmp_path)


def add_notebook_workspace(world, tmp_path):
    """A workspace `nb`: the sample project with a notebook action, `explore`."""
    source = tmp_path / "nb-source"
    shutil.copytree(SAMPLE_PROJECT, source)
    (source / "project.yaml").write_text((source / "project.yaml").read_text() + NOTEBOOK_ACTION)
    (source / "analysis" / "explore.ipynb").write_text(explore_notebook())
    repo = tmp_path / "repos" / "nb"
    world.nb_sha = make_repo(repo, source)
    world.nb_repo = repo
    world.workspace("sample-study", "nb", repo)
    return world


def submit(client, actions, **body):
    return client.post(
        "job-requests", json={"workspace": "nb", "backend": "tpp", "actions": actions, **body}
    )


def jobs_count(world) -> int:
    return len(world.client("admin").get("jobs", params={"workspace": "nb"}).json()["items"])


def test_config_then_overrides_reach_the_lease_and_the_request_keeps_the_overrides(nb_world):
    dev = nb_world.client("dev")
    made = submit(dev, ["explore"], parameters={"explore": {"region": "north"}})
    assert made.status_code == 201, made.text
    request = made.json()
    assert request["parameters"] == {"explore": {"region": "north"}}
    assert request["warnings"] == []
    explore = next(j for j in request["jobs"] if j["action"] == "explore")
    assert explore["parameters"] == {"threshold": 10, "region": "north"}
    dataset = next(j for j in request["jobs"] if j["action"] == "generate_dataset")
    assert dataset["parameters"] == {}

    runner = nb_world.client(token=nb_world.runner_token)
    (first,) = runner.post("runner/poll", json={"wait": 0}).json()
    runner.post(f"runner/jobs/{first['identifier']}/status", json={"state": "succeeded"})
    (lease,) = runner.post("runner/poll", json={"wait": 0}).json()
    assert lease["action"] == "explore"
    assert lease["parameters"] == {"threshold": 10, "region": "north"}
    assert dev.get(f"job-requests/{request['id']}").json()["parameters"] == request["parameters"]


def test_a_parameter_the_notebook_does_not_declare_is_a_warning(nb_world):
    made = submit(nb_world.client("dev"), ["explore"], parameters={"explore": {"colour": "red"}})
    assert made.status_code == 201, made.text
    assert made.json()["warnings"] == [
        "analysis/explore.ipynb does not declare the parameter colour in its parameters cell: "
        "it is set all the same"
    ]


@pytest.mark.parametrize(
    ("actions", "parameters", "says"),
    [
        (["explore"], {"explore": {"threshold": "ten"}}, "takes a whole number"),
        (["explore"], {"nowhere": {"x": 1}}, "nowhere, which is not an action of project.yaml"),
        (["explore"], {"make_table": {"x": 1}}, "make_table, which does not run a notebook"),
        (["generate_dataset"], {"explore": {"x": 1}}, "explore, which does not run in this"),
    ],
)
def test_a_wrong_parameter_is_refused_and_nothing_is_written(nb_world, actions, parameters, says):
    before = jobs_count(nb_world)
    refused = submit(nb_world.client("dev"), actions, parameters=parameters)
    assert refused.status_code == 422, refused.text
    assert says in refused.json()["detail"]
    assert jobs_count(nb_world) == before


def test_a_notebook_that_is_not_json_is_refused_at_its_commit(nb_world):
    (nb_world.nb_repo / "analysis" / "explore.ipynb").write_text("{not a notebook")
    git(nb_world.nb_repo, "commit", "-qam", "break it")
    refused = submit(nb_world.client("dev"), ["explore"])
    assert refused.status_code == 422
    assert (
        "analysis/explore.ipynb is not a notebook: it is not valid JSON" in refused.json()["detail"]
    )
    assert jobs_count(nb_world) == 0


def test_a_config_value_of_the_wrong_kind_is_refused_too(nb_world):
    (nb_world.nb_repo / "analysis" / "explore.ipynb").write_text(
        explore_notebook("threshold = 'x'")
    )
    git(nb_world.nb_repo, "commit", "-qam", "threshold is text now")
    refused = submit(nb_world.client("dev"), ["explore"])
    assert refused.status_code == 422
    assert "the parameter threshold of analysis/explore.ipynb takes a string" in refused.text


def test_a_study_run_checks_them_once_and_gives_each_site_the_values(nb_world):
    two_sites(nb_world)
    made = nb_world.client("dev").post(
        "runs",
        json={
            "workspace": "nb",
            "backends": ["north", "south"],
            "actions": ["explore"],
            "parameters": {"explore": {"threshold": 3}},
        },
    )
    assert made.status_code == 201, made.text
    for site in made.json()["sites"]:
        explore = next(j for j in site["job_request"]["jobs"] if j["action"] == "explore")
        assert explore["parameters"] == {"threshold": 3}


def test_the_list_of_actions_shows_a_notebook_and_the_values_it_would_run_with(nb_world):
    listed = nb_world.client("dev").get("workspaces/nb/actions").json()
    explore = next(a for a in listed["actions"] if a["name"] == "explore")
    assert explore["notebook"] == "analysis/explore.ipynb"
    assert explore["parameters"] == {"region": "all", "threshold": 10}  # config over default
    table = next(a for a in listed["actions"] if a["name"] == "make_table")
    assert (table["notebook"], table["parameters"]) == (None, {})


def test_the_job_and_its_request_pages_show_the_parameters(nb_world):
    from .test_pages import get

    made = submit(nb_world.client("dev"), ["explore"], parameters={"explore": {"region": "<b>"}})
    request = made.json()
    explore = next(j for j in request["jobs"] if j["action"] == "explore")
    job_page = get(nb_world, "dev", f"/jobs/{explore['identifier']}").text
    shown = '<code>{"region": "\\u003cb\\u003e", "threshold": 10}</code>'  # no tag from a value
    assert f'id="parameters">{shown}' in job_page
    request_page = get(nb_world, "dev", f"/job-requests/{request['id']}").text
    assert "explore: <code>{" in request_page and "(for this request only)" in request_page
