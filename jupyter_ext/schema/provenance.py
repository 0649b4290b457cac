"""What made a job's outputs: enough to trace a released file back to its commit and to run
the job again and compare, byte for byte."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .common import Model, Timestamp

SHA256 = r"^[0-9a-f]{64}$"


class FileDigest(Model):
    path: str = Field(max_length=1000)
    sha256: str = Field(pattern=SHA256)
    job: str | None = Field(None, description="For an input: the job whose output it was.")


class DatasetDigest(Model):
    name: str = Field(max_length=200)
    sha256: str = Field(pattern=SHA256, description="The dataset version's registered hash.")
    version: int | None = Field(None, description="The version leased (None: before versions).")


class Provenance(Model):
    """Recorded by the runner when a job ends; kept on the site too, for `runner verify`."""

    repo: str
    commit: str = Field(pattern=r"^[0-9a-f]{40}$")
    action: str
    run: str = Field(description="The action's command, as project.yaml gives it.")
    executor: str
    image: str | None = Field(None, description="The image the job ran in.")
    image_digest: str | None = Field(None, description="Its content digest (sha256:...).")
    interpreter: str | None = Field(None, description="For the local executor: its Python.")
    packages: dict[str, str] = Field(
        default_factory=dict, description="For the local executor: installed packages' versions."
    )
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="A notebook action's parameters, as it ran with them."
    )
    inputs: list[FileDigest] = Field(default_factory=list, description="Its needs' outputs.")
    datasets: list[DatasetDigest] = Field(default_factory=list)
    outputs: list[FileDigest] = Field(default_factory=list)
    runner_version: str | None = None
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None


class ProvenanceStep(Model):
    job: str
    action: str
    job_request: str
    provenance: Provenance | None = Field(None, description="None for jobs run before it was kept.")


class ProvenanceChain(Model):
    """A released file, the job that made it, and the jobs that made its inputs, to the commit."""

    file: FileDigest
    steps: list[ProvenanceStep] = Field(description="The making job first, then its inputs'.")
