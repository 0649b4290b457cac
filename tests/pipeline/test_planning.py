"""Planning follows the official job runner's rules, as a pure function."""

from __future__ import annotations

import pytest

from jupyter_ext.pipeline import (
    NothingToDoError,
    PlanningError,
    UnknownActionError,
    load_pipeline,
    plan_jobs,
)

from ..conftest import SAMPLE_PROJECT

# generate_dataset -> derive_measures -> (make_table, make_plot) -> report
PIPELINE = load_pipeline((SAMPLE_PROJECT / "project.yaml").read_text())
ALL = ["generate_dataset", "derive_measures", "make_table", "make_plot", "report"]


def plan(requested, states=None, force=False):
    return plan_jobs(PIPELINE, requested, states or {}, force_run_dependencies=force)


def test_never_run_pipeline_runs_dependencies_first():
    result = plan(["report"])
    assert result.actions == ALL
    jobs = {job.action: job for job in result.jobs}
    assert jobs["report"].wait_for == ("make_table", "make_plot")
    assert jobs["report"].reason == "requested"
    assert jobs["generate_dataset"].reason == "needed by derive_measures, never run"


@pytest.mark.parametrize(
    ("dependency_state", "force", "reruns"),
    [
        (None, False, True),
        ("succeeded", False, False),
        ("succeeded", True, True),
        ("failed", False, True),
        ("failed", True, True),
        ("pending", False, False),
        ("running", True, False),
    ],
)
def test_the_decision_table_for_a_dependency(dependency_state, force, reruns):
    states = {"generate_dataset": "succeeded", "derive_measures": dependency_state}
    result = plan(["make_table"], states, force)
    assert ("derive_measures" in result.actions) is reruns
    assert "make_table" in result.actions
    if dependency_state in ("pending", "running"):
        job = result.jobs[-1]
        assert job.wait_for == ("derive_measures",)
        assert "already" in result.reused["derive_measures"]


def test_requested_actions_run_again_even_if_they_succeeded():
    states = dict.fromkeys(ALL, "succeeded")
    assert plan(["make_plot"], states).actions == ["make_plot"]


def test_a_reused_dependency_is_not_looked_through():
    states = {"derive_measures": "succeeded", "generate_dataset": "failed"}
    assert plan(["make_table"], states).actions == ["make_table"]


def test_force_runs_the_whole_upstream():
    states = dict.fromkeys(ALL, "succeeded")
    assert plan(["make_table"], states, force=True).actions == ALL[:3]


def test_run_all_reuses_what_succeeded_and_reruns_what_failed():
    states = {"generate_dataset": "succeeded", "derive_measures": "failed"}
    assert plan(["run_all"], states).actions == ALL[1:]
    assert plan(["run_all"], {}).actions == ALL


def test_nothing_to_do_says_why():
    with pytest.raises(NothingToDoError, match="already completed successfully"):
        plan(["run_all"], dict.fromkeys(ALL, "succeeded"))
    with pytest.raises(NothingToDoError, match="already scheduled"):
        plan(["make_plot"], {"make_plot": "running"})


def test_unknown_actions_are_refused_with_a_suggestion():
    with pytest.raises(UnknownActionError, match="did you mean `make_plot`"):
        plan(["make_plto"])
    with pytest.raises(UnknownActionError, match="`nope`"):
        plan(["run_all", "nope"])
    with pytest.raises(PlanningError, match="at least one action"):
        plan([])


def test_each_action_gets_one_job_and_states_of_removed_actions_are_ignored():
    result = plan(["make_table", "make_plot", "make_table"], {"gone": "failed"})
    assert result.actions == ["generate_dataset", "derive_measures", "make_table", "make_plot"]


def test_database_actions_are_marked():
    pipeline = load_pipeline(
        "version: '5'\nactions:\n  extract:\n"
        "    run: ehrql:v1 generate-dataset analysis/dataset.py --output output/dataset.csv.gz\n"
        "    outputs: {highly_sensitive: {dataset: output/dataset.csv.gz}}\n"
    )
    (job,) = plan_jobs(pipeline, ["extract"]).jobs
    assert job.requires_db is True
    assert not plan(["generate_dataset"]).jobs[0].requires_db
