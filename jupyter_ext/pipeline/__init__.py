"""Read, validate and plan OpenSAFELY-style `project.yaml` pipelines.

Pure Python: no I/O beyond the text it is given, no import from the rest of
jupyter_ext, so the job server, the runner and the server extension share it.

    >>> pipeline = load_pipeline(text)                  # or ProjectValidationError
    >>> plan = plan_jobs(pipeline, ["analyse"], {"extract": "succeeded"})
    >>> [job.action for job in plan.jobs]
"""

from .graph import ancestors, find_cycles, render_mermaid, render_tree, topological_order
from .models import LATEST_VERSION, PRIVACY_LEVELS, RUN_ALL, Action, Outputs, Pipeline, Run
from .outputs import RELEASABLE_SUFFIXES, OutputMatch, match_outputs, pattern_problems
from .planning import JobState, Plan, PlannedJob, plan_jobs
from .problems import (
    NothingToDoError,
    PipelineError,
    PlanningError,
    Problem,
    ProjectValidationError,
    UnknownActionError,
)
from .validation import check_pipeline, load_pipeline


def needs_graph(pipeline: Pipeline) -> dict[str, tuple[str, ...]]:
    """`{action: needs}` in file order: the graph the functions of `graph` take."""
    return {name: action.needs for name, action in pipeline.actions.items()}


__all__ = [
    "LATEST_VERSION",
    "PRIVACY_LEVELS",
    "RELEASABLE_SUFFIXES",
    "RUN_ALL",
    "Action",
    "JobState",
    "NothingToDoError",
    "OutputMatch",
    "Outputs",
    "Pipeline",
    "PipelineError",
    "Plan",
    "PlannedJob",
    "PlanningError",
    "Problem",
    "ProjectValidationError",
    "Run",
    "UnknownActionError",
    "ancestors",
    "check_pipeline",
    "find_cycles",
    "load_pipeline",
    "match_outputs",
    "needs_graph",
    "pattern_problems",
    "plan_jobs",
    "render_mermaid",
    "render_tree",
    "topological_order",
]
