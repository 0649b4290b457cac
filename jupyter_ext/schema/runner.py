"""What a backend's runner and the job server say to each other."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, model_validator

from .common import Model, Timestamp
from .jobs import Output
from .provenance import Provenance
from .release_rules import ReleaseRules
from .resources import JobResources, ResourceLimits
from .states import JobState, LogPolicy
from .usage import JobUsage

MAX_OUTPUTS = 10_000  # outputs in one report: a runner's c.RunnerApp.max_outputs is at most this


class Heartbeat(Model):
    version: str = Field(max_length=64)
    executor: str = Field(max_length=64)
    capacity: int = Field(ge=0, le=100_000, description="Jobs it can start now.")
    running: list[str] = Field(default_factory=list, description="Identifiers it is running.")
    release_rules: ReleaseRules | None = Field(None, description="The site's pre-release rules.")
    resource_limits: ResourceLimits | None = Field(
        None, description="What a job gets unasked, and the most an action may ask for."
    )


class ReleaseUpload(Model):
    file: str = Field(description="Release file id (ULID).")
    job: str
    workspace: str
    path: str
    sha256: str
    size: int
    purpose: Literal["release", "review"] = Field(
        "release",
        description="release: a published file, to be served to the project; review: a file "
        "under review, for its output checkers only (kept apart on the job server).",
    )


class ReleaseFileState(Model):
    """How much of a release file the job server holds: an interrupted upload goes on from it."""

    received: int = Field(ge=0, description="Bytes held (all of them once uploaded).")
    size: int
    sha256: str
    uploaded: bool = Field(description="The whole file has come and matched its sha256.")


class HeartbeatReply(Model):
    cancel: list[str] = Field(default_factory=list, description="Jobs to stop now.")
    uploads: list[ReleaseUpload] = Field(
        default_factory=list,
        description="Files to upload from the site: published ones, and those under review.",
    )
    log_policy: LogPolicy | None = Field(
        None,
        description="The backend's log policy as the job server has it; the runner keeps the "
        "stricter of it and the site's own.",
    )


class LeasedDataset(Model):
    """A dataset a job may read: the version its project is approved for, by its hash."""

    name: str
    version: int
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class Lease(Model):
    """A job handed to a runner: everything it needs to run it, and nothing more."""

    identifier: str
    job_request: str
    workspace: str
    action: str
    repo: str
    sha: str
    run: str
    needs: list[str]
    wait_for: list[str]
    outputs: dict[str, dict[str, str]]
    requires_db: bool = False
    datasets: list[LeasedDataset] = Field(
        default_factory=list, description="Exactly what the job may read; nothing else is given."
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict,
        description="A notebook action's parameters (its config and the request's overrides).",
    )
    resources: JobResources | None = Field(
        None, description="What the action asks to run with (resources.yaml); None: defaults."
    )
    github_token: str | None = Field(None, repr=False, description="For the checkout only.")
    lease_expires_at: Timestamp


class Poll(Model):
    capacity: int = Field(1, ge=0, le=1000)
    wait: float = Field(25.0, ge=0, le=60, description="Seconds to hold the request open.")


class StatusUpdate(Model):
    state: JobState
    status_message: str = Field("", max_length=2000)
    exit_code: int | None = Field(None, ge=-(2**31), le=2**31 - 1)
    usage: JobUsage | None = Field(
        None,
        description="What the job used, with its end. Figures out of bounds (negative, not "
        "finite, too large) are dropped, not refused: the end is recorded without them.",
    )
    _usage_refused: str = PrivateAttr("")  # why a usage sent was dropped ('' if it was not)

    @model_validator(mode="wrap")
    @classmethod
    def _drop_bad_usage(cls, data: Any, handler) -> StatusUpdate:
        """A usage out of bounds is dropped (its reason kept in `usage_refused`), so that the
        job's end is never lost over a figure (see schema/usage.py)."""
        refused = ""
        if isinstance(data, dict) and data.get("usage") is not None:
            try:
                JobUsage.model_validate(data["usage"])
            except ValidationError as exc:
                refused = "; ".join(
                    f"{'.'.join(str(p) for p in error['loc']) or 'usage'}: {error['msg']}"
                    for error in exc.errors()
                )[:500]
                data = {**data, "usage": None}
        update = handler(data)
        update._usage_refused = refused
        return update

    @property
    def usage_refused(self) -> str:
        """Why the usage sent with it was dropped ('' if none was, or it was within bounds)."""
        return self._usage_refused


class LogBatch(Model):
    first_seq: int = Field(ge=0, le=2**62, description="Sequence number of the first line.")
    lines: list[str] = Field(max_length=10_000)
    truncated: bool = Field(False, description="The cap was reached: later lines stay on site.")


class OutputsReport(Model):
    outputs: list[Output] = Field(
        max_length=MAX_OUTPUTS,
        description=f"At most {MAX_OUTPUTS:,}: a runner refuses a job with more (422 past it).",
    )
    provenance: Provenance | None = None


class UploadRefusal(Model):
    """The site will not send a published file: its bytes changed, or the rules refuse it."""

    reason: str = Field(max_length=2000)
