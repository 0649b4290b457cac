"""Which jobs a job request creates: a pure function of the pipeline and the last states.

The rules are the official job runner's (`create_or_update_jobs`):

| last job of the action | requested | a dependency | a dependency, forced |
|------------------------|-----------|--------------|----------------------|
| never run              | new job   | new job      | new job              |
| pending or running     | reused    | reused       | reused               |
| succeeded              | new job   | reused       | new job              |
| failed                 | new job   | new job      | new job              |

A reused action's own needs are not looked at. `run_all` requests every
action (all but one literally named `run_all`) without counting any as
requested, so what already succeeded is reused. Unlike the official runner, an
unknown action is refused even next to `run_all`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from ._gc import gc_paused
from .models import RUN_ALL, Pipeline
from .problems import NothingToDoError, PlanningError, UnknownActionError


class JobState(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


ACTIVE = frozenset({JobState.PENDING, JobState.RUNNING})


@dataclass(frozen=True, slots=True)
class PlannedJob:
    action: str
    needs: tuple[str, ...]  # whose outputs it reads
    wait_for: tuple[str, ...]  # needs whose jobs (new, or already pending/running) must end first
    reason: str  # why it runs, in words
    requires_db: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    jobs: list[PlannedJob]  # dependencies first
    reused: dict[str, str] = field(default_factory=dict)  # action -> why no new job

    @property
    def actions(self) -> list[str]:
        return [job.action for job in self.jobs]

    def to_json(self) -> dict:
        return {
            "jobs": [
                {
                    "action": j.action,
                    "needs": list(j.needs),
                    "wait_for": list(j.wait_for),
                    "reason": j.reason,
                    "requires_db": j.requires_db,
                }
                for j in self.jobs
            ],
            "reused": self.reused,
        }


@gc_paused()
def plan_jobs(
    pipeline: Pipeline,
    requested: Sequence[str],
    last_states: Mapping[str, JobState | str | None] | None = None,
    *,
    force_run_dependencies: bool = False,
) -> Plan:
    """The jobs to create, in order, for `requested` actions (or `run_all`).

    `last_states` maps an action to the state of its latest (non-cancelled)
    job on the backend, absent or None for never run. Raises `PlanningError`
    subclasses with a sentence saying what to change.
    """
    if not requested:
        raise PlanningError("ask for at least one action, or run_all for every action")
    unknown = [name for name in requested if name != RUN_ALL and name not in pipeline.actions]
    if unknown:
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(name, list(pipeline.actions), n=1)
            hints.append(f"`{name}`" + (f" (did you mean `{close[0]}`?)" if close else ""))
        raise UnknownActionError(
            f"not an action in project.yaml: {', '.join(hints)}; the actions are "
            f"{', '.join(pipeline.all_actions)}"
        )
    states = {
        name: JobState(state)
        for name, state in (last_states or {}).items()
        if state is not None and name in pipeline.actions
    }
    explicit = set(requested)
    roots = pipeline.all_actions if RUN_ALL in explicit else list(dict.fromkeys(requested))

    def why_not(action: str) -> str | None:
        """None if `action` needs a new job, else why the last one is reused."""
        state = states.get(action)
        if state is None:
            return None
        if state in ACTIVE:
            return f"already {state}: new jobs wait for it"
        if action in explicit or force_run_dependencies:
            return None
        return "succeeded before: its outputs are reused" if state is JobState.SUCCEEDED else None

    def why(action: str, needed_by: str | None) -> str:
        if action in explicit:
            return "requested"
        lead = "run_all" if needed_by is None else f"needed by {needed_by}"
        state = states.get(action)
        if state is None:
            return f"{lead}, never run"
        if state is JobState.FAILED:
            return f"{lead}, last run failed"
        return f"{lead}, forced (force_run_dependencies)"

    jobs: dict[str, PlannedJob] = {}
    reused: dict[str, str] = {}
    visiting: set[str] = set()
    for root in roots:
        stack: list[tuple[str, str | None, bool]] = [(root, None, False)]
        while stack:
            action, needed_by, expanded = stack.pop()
            spec = pipeline.actions[action]
            if expanded:
                wait_for = tuple(n for n in spec.needs if n in jobs or states.get(n) in ACTIVE)
                jobs[action] = PlannedJob(
                    action,
                    spec.needs,
                    wait_for,
                    why(action, needed_by),
                    spec.run.is_database_action,
                )
                continue
            if action in jobs or action in reused or action in visiting:
                continue
            reason = why_not(action)
            if reason is not None:
                reused[action] = reason
                continue
            visiting.add(action)
            stack.append((action, needed_by, True))
            stack.extend((need, action, False) for need in reversed(spec.needs))
    if not jobs:
        if RUN_ALL in explicit:
            raise NothingToDoError("all actions have already completed successfully")
        raise NothingToDoError("all requested actions are already scheduled to run")
    return Plan(list(jobs.values()), reused)
