"""Job requests, their jobs, logs, and the live events about them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints

from .common import Model, Slug, Timestamp
from .release_rules import FileCheck
from .resources import JobResources
from .states import JobRequestState, JobState, PrivacyLevel
from .usage import JobUsage

MAX_SITES = 20  # backends one study run may name

ParameterName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")]
ActionName = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Parameters = dict[ParameterName, Any]  # a notebook's parameters: JSON values by name


class Submission(Model):
    """What a job request and a study run both ask: actions of a workspace at a commit."""

    workspace: Slug
    actions: list[Annotated[str, StringConstraints(min_length=1, max_length=200)]] = Field(
        min_length=1, max_length=1000, description="Action names, or run_all."
    )
    sha: str | None = Field(
        None, pattern=r"^[0-9a-f]{40}$", description="Commit to run; the branch head if absent."
    )
    force_run_dependencies: bool = False
    notify: bool = True
    github_token: str | None = Field(
        None, repr=False, description="Used for this submission only and not kept."
    )
    parameters: dict[ActionName, Parameters] = Field(
        default_factory=dict,
        max_length=1000,
        description="Per notebook action, values overriding its `config` for this submission "
        "only; each is checked against the notebook's parameters cell.",
    )


class JobRequestCreate(Submission):
    backend: Slug


class StudyRunCreate(Submission):
    """One submission at several sites (backends): a job request at each, all at one commit."""

    backends: list[Slug] = Field(
        max_length=MAX_SITES, description="The sites to run at, each once; one is the simple case."
    )


class Job(Model):
    identifier: str = Field(description="Short id used in logs and URLs.")
    job_request: str
    workspace: str
    backend: str
    action: str
    state: JobState
    status_message: str = ""
    exit_code: int | None = None
    needs: list[str] = Field(default_factory=list)
    wait_for: list[str] = Field(default_factory=list, description="Identifiers of jobs first.")
    runner: str | None = None
    parameters: Parameters = Field(
        default_factory=dict, description="A notebook action's values: its config and overrides."
    )
    resources: JobResources | None = Field(
        None, description="What the action asked to run with (resources.yaml); None: defaults."
    )
    cancelled_by: str | None = None
    created_at: Timestamp
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None
    usage: JobUsage | None = Field(
        None, description="What it used, as its runner measured it; absent until it ends."
    )


class JobRequest(Model):
    id: str
    workspace: str
    project: str
    backend: str
    sha: str
    actions: list[str]
    force_run_dependencies: bool
    notify: bool
    state: JobRequestState
    created_by: str
    created_at: Timestamp
    jobs: list[Job] = Field(default_factory=list)
    project_yaml: str | None = Field(None, description="project.yaml as validated, on one request.")
    run: str | None = Field(None, description="The study run it is one site's part of.")
    schedule: str | None = Field(None, description="The schedule whose firing made it.")
    parameters: dict[str, Parameters] = Field(
        default_factory=dict, description="The overrides it was submitted with, per action."
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="Said once, when it is made: e.g. a parameter its notebook does not declare.",
    )


class RunSite(Model):
    """One site's part of a study run: its backend, its job request and how far it is."""

    backend: str
    state: JobRequestState
    message: str = Field("", description='Why it waits or failed: "waiting for south: last seen …"')
    online: bool = Field(description="Its runner was seen within the heartbeat timeout.")
    last_seen_at: Timestamp | None = None
    job_request: JobRequest


class StudyRun(Model):
    """The sites' states side by side; `state` is as far as the least finished site."""

    id: str
    workspace: str
    project: str
    sha: str
    actions: list[str]
    force_run_dependencies: bool
    notify: bool
    state: JobRequestState
    summary: str = Field(description='Each site in a word: "north succeeded, south running".')
    created_by: str
    created_at: Timestamp
    sites: list[RunSite]


class LogLine(Model):
    seq: int
    text: str
    at: Timestamp | None = None


class Output(Model):
    path: str
    size: int = Field(ge=0, le=2**62)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    privacy_level: PrivacyLevel
    check: FileCheck | None = Field(
        None, description="The backend's pre-release rules over it, for a moderately sensitive one."
    )


class ActionStatus(Model):
    """One action of a workspace's project.yaml with the last state of its job per backend."""

    name: str
    needs: list[str]
    run: str
    outputs: dict[str, dict[str, str]]
    line: int | None = None
    last_state: dict[str, JobState] = Field(default_factory=dict, description="backend -> state")
    notebook: str | None = Field(None, description="The notebook a `jupyter:` action runs.")
    parameters: Parameters = Field(
        default_factory=dict,
        description="A notebook action's values if none is overridden: its parameters cell's "
        "defaults, then its config.",
    )


class Actions(Model):
    workspace: str
    sha: str
    actions: list[ActionStatus] = Field(default_factory=list)
    problems: list[dict[str, Any]] = Field(default_factory=list, description="When invalid.")
    warnings: list[dict[str, Any]] = Field(default_factory=list)


class Event(Model):
    """What the event stream carries: `kind` names the thing, `data` is its new shape."""

    id: int
    kind: str = Field(description="job, job_request, log, release")
    workspace: str | None = None
    backend: str | None = None
    job_request: str | None = None
    data: dict[str, Any]
    created_at: Timestamp
