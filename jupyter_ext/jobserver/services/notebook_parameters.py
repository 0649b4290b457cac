"""What each notebook job of a plan runs with: its action's `config`, then the submission's
overrides, each checked against the notebook's parameters cell at the commit.

Checked when the request is made, so a value of the wrong kind, an override for an action
that is not a notebook or does not run, or a notebook that is not valid JSON is refused in a
sentence before anything is written; a value the notebook does not declare is a warning the
request carries back. The runner checks again against the notebook it checked out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...pipeline import Action, Plan
from ...pipeline.notebooks import (
    NotebookError,
    NotebookInfo,
    check_parameters,
    is_notebook_image,
    notebook_command,
    read_notebook,
)
from ..errors import ProblemError
from ..repos import FileMissing, RepositoryError, RepositorySource


@dataclass
class NotebookValues:
    """Per planned notebook job, the values it runs with; and what the request is told."""

    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def is_notebook_action(action: Action) -> bool:
    return is_notebook_image(action.run.image)


def _refused(message: str) -> ProblemError:
    return ProblemError(422, message)


def notebook_values(
    repos: RepositorySource,
    commit,  # job_requests.Commit: its notebooks are read once for every site
    plan: Plan,
    overrides: dict[str, dict[str, Any]],
) -> NotebookValues:
    """The values of each notebook job of `plan`; refused if an override or a value cannot be."""
    actions = commit.pipeline.actions
    planned = {job.action for job in plan.jobs}
    for name in overrides:
        if name not in actions:
            raise _refused(
                f"parameters were given for {name}, which is not an action of project.yaml"
            )
        if not is_notebook_action(actions[name]):
            raise _refused(
                f"parameters were given for {name}, which does not run a notebook: only "
                "`jupyter:` actions take parameters (give scripts theirs in `config`)"
            )
        if name not in planned:
            raise _refused(
                f"parameters were given for {name}, which does not run in this request: request "
                "it, or force its run"
            )
    found = NotebookValues()
    for job in plan.jobs:
        action = actions[job.action]
        if not is_notebook_action(action):
            continue
        try:
            path = notebook_command(action.run.args).notebook
        except NotebookError as exc:
            raise _refused(f"the action {job.action} cannot run: {exc}") from None
        info = _notebook(repos, commit, path)
        values = {**dict(action.config or {}), **overrides.get(job.action, {})}
        try:
            found.warnings += check_parameters(info, values, path)
        except NotebookError as exc:
            raise _refused(f"the action {job.action} cannot run: {exc}") from None
        found.values[job.action] = values
    return found


def _notebook(repos: RepositorySource, commit, path: str) -> NotebookInfo:
    """The notebook at the commit, read and parsed once per submission."""
    cache = commit.notebooks
    if path not in cache:
        workspace = commit.workspace
        try:
            text = repos.read(workspace.repo, commit.sha, path, commit.token)
        except FileMissing:
            raise _refused(
                f"{path} is not in the repository at {commit.sha[:7]}: commit and push it"
            ) from None
        except RepositoryError as exc:
            raise _refused(str(exc)) from None
        try:
            cache[path] = read_notebook(text, path)
        except NotebookError as exc:
            raise _refused(str(exc)) from None
    return cache[path]


def values_without_overrides(
    repos: RepositorySource, workspace, sha: str, token: str | None, action: Action
) -> tuple[str | None, dict[str, Any]]:
    """A notebook action's notebook and the values it runs with unless overridden: the
    notebook's defaults, then its config; for a list of actions, so it refuses nothing (a
    notebook that cannot be read gives its config alone)."""
    if not is_notebook_action(action):
        return None, {}
    config = dict(action.config or {})
    try:
        path = notebook_command(action.run.args).notebook
    except NotebookError:
        return None, config
    try:
        info = read_notebook(repos.read(workspace.repo, sha, path, token), path)
    except (RepositoryError, NotebookError):
        return path, config
    return path, {**{p.name: p.default for p in info.parameters.values()}, **config}
