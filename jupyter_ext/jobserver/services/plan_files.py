"""What the files beside project.yaml say of a planned request: the datasets each action reads
(datasets.yaml) and the resources it asks for (resources.yaml), each checked against what the
backend allows before anything is written."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from ... import schema
from ...pipeline import Plan, ProjectValidationError
from ...pipeline.datasets import DATASETS_FILE, load_dataset_uses
from ...pipeline.resources import RESOURCES_FILE, load_resources
from .. import orm, views
from ..dataset_access import NotAllowed, resolve
from ..errors import ProblemError
from ..repos import FileMissing, RepositoryError

if TYPE_CHECKING:
    from .job_requests import Commit


def datasets_read(repos, session, commit: Commit, backend: orm.Backend, plan: Plan):
    """What each planned action reads, from datasets.yaml at the commit; refused, before
    anything runs, if the project may not use one of them at this backend."""
    uses = _read_beside(repos, commit, DATASETS_FILE, load_dataset_uses)
    wanted = {job.action: [str(u) for u in uses.get(job.action, ())] for job in plan.jobs}
    for action, names in wanted.items():
        try:
            resolve(session, commit.workspace.project, backend, names)
        except NotAllowed as exc:
            message = f"the action {action} reads a dataset it may not: {exc}"
            raise ProblemError(422, message) from None
    return {action: names for action, names in wanted.items() if names}


def resources_asked(
    repos, commit: Commit, backend: orm.Backend, plan: Plan
) -> dict[str, schema.JobResources]:
    """What each planned action asks to run with, from resources.yaml at the commit; refused,
    before anything runs, if it asks for more than the backend allows (or the backend has not
    said yet what it allows)."""
    read = _read_beside(repos, commit, RESOURCES_FILE, load_resources)
    asked = {action: schema.JobResources(**asdict(r)) for action, r in read.items()}
    wanted = {job.action: asked[job.action] for job in plan.jobs if job.action in asked}
    wanted = {action: resources for action, resources in wanted.items() if resources.asked()}
    if not wanted:
        return {}
    limits = views.resource_limits(backend)
    if limits is None:
        raise ProblemError(
            422,
            f"the action {next(iter(wanted))} asks for resources, and the backend "
            f"{backend.slug} has not yet said what it allows: try again once its runner is "
            "online, or ask an administrator",
        )
    for action, resources in wanted.items():
        if over := limits.over(resources):
            raise ProblemError(
                422,
                f"the action {action} asks for more than the backend {backend.slug} allows: "
                f"{'; '.join(over)}. Ask for less in {RESOURCES_FILE}",
            )
    return wanted


def _read_beside(repos, commit: Commit, filename: str, load):
    """A file beside project.yaml at the commit, read by `load` (its contents for each action);
    none there says nothing. Refused (422, each problem with its line) if it is not valid."""
    try:
        text = repos.read(commit.workspace.repo, commit.sha, filename, commit.token)
    except FileMissing:
        return {}
    except RepositoryError as exc:
        raise ProblemError(422, str(exc)) from None
    try:
        return load(text, commit.pipeline.actions)
    except ProjectValidationError as exc:
        lines = "; ".join(p.format(filename) for p in exc.problems[:5])
        raise ProblemError(
            422,
            f"{filename} is not valid at this commit: {lines}",
            errors=[p.to_json() for p in exc.problems],
        ) from None
