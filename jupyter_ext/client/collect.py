"""Collecting a study run's released outputs from every site into one folder.

What goes where is decided here, once, from the run and each site's releases (the sync and
async clients only fetch): `<folder>/<backend>/<path>` for each file released from a job of
this run (the newest version of a path, if it was replaced), and `<folder>/manifest.json`
naming each file's site, release, job and provenance, so a pooled figure made from them can
say exactly what it was made from. Only released files are ever fetched: the data itself
never left its site.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .. import schema
from .errors import ClientError
from .models import Release, StudyRun, _table

MANIFEST = "manifest.json"


@dataclass
class CollectedFile:
    site: str
    path: str  # under the collection's folder: <backend>/<path of the output>
    release: str
    release_file: str
    job: str
    action: str
    sha256: str
    size: int
    provenance: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Collected:
    """What `run.collect(folder)` wrote: a file per released output, and the sites that had
    nothing released from this run yet (with what to do about it)."""

    folder: Path
    run: str
    files: list[CollectedFile]
    missing: dict[str, str]

    @property
    def complete(self) -> bool:
        return not self.missing

    def paths(self, site: str | None = None) -> list[Path]:
        return [self.folder / f.path for f in self.files if site in (None, f.site)]

    def __repr__(self) -> str:
        head = f"Collected {len(self.files)} released files of the run {self.run} in {self.folder}"
        rows = [(f.site, f.path, f.sha256[:12], f"job {f.job}") for f in self.files]
        notes = [f"  {site}: {why}" for site, why in self.missing.items()]
        return "\n".join([head, *_table(rows), *notes])


@dataclass
class Plan:
    """The downloads a collection makes, decided before any byte is fetched."""

    run: StudyRun
    folder: Path
    entries: list[tuple[CollectedFile, schema.ReleaseFile, Path]]
    missing: dict[str, str]

    @property
    def targets(self) -> list[tuple[schema.ReleaseFile, Path]]:
        return [(file, target) for _, file, target in self.entries]


def inside(folder: Path, *parts: str) -> Path:
    """`folder` joined with `parts`, refused if any part would leave it."""
    for part in parts:
        path = PurePosixPath(part)
        if path.is_absolute() or ".." in path.parts or "\\" in part or not part.strip("/"):
            raise ClientError(f"{part!r} is not a path inside the collection: nothing written")
    return folder.joinpath(*(p for part in parts for p in PurePosixPath(part).parts))


def plan(run: StudyRun, releases: dict[str, list[Release]], folder: Path) -> Plan:
    """Each site's released files made by this run's jobs there, newest version per path."""
    entries, missing = [], {}
    for site in run.sites:
        jobs = {job.identifier: job.action for job in site.job_request.jobs}
        newest: dict[str, tuple[Release, schema.ReleaseFile]] = {}
        waiting = {"review": 0, "upload": 0}
        for release in sorted(releases.get(site.backend, []), key=lambda r: r.id):
            for file in release.files:
                if file.job not in jobs or file.deleted:
                    continue
                if file.state == "released" and file.uploaded:
                    newest[file.path] = (release, file)
                elif file.state == "released":
                    waiting["upload"] += 1
                elif file.state not in ("rejected", "withdrawn"):
                    waiting["review"] += 1
        if not newest:
            missing[site.backend] = _why_missing(site.backend, waiting)
        for path, (release, file) in sorted(newest.items()):
            shown = f"{site.backend}/{path}"
            entry = CollectedFile(
                site=site.backend,
                path=shown,
                release=release.id,
                release_file=file.id,
                job=file.job,
                action=jobs[file.job],
                sha256=file.sha256,
                size=file.size,
            )
            entries.append((entry, file, inside(folder, site.backend, path)))
    return Plan(run, folder, entries, missing)


def _why_missing(site: str, waiting: dict[str, int]) -> str:
    if waiting["upload"]:
        return (
            f"{waiting['upload']} file(s) released at {site} are not sent by its runner yet: "
            "collect again once it has (its runner must be online)"
        )
    if waiting["review"]:
        return (
            f"{waiting['review']} file(s) from this run wait for {site}'s output checkers: "
            "collect again once they are released"
        )
    return (
        f"nothing from this run is released at {site}: request a release of its outputs "
        "there, then collect again"
    )


def finish(plan: Plan, provenance: dict[str, schema.ProvenanceChain]) -> Collected:
    """Write the manifest beside the files (fetched and checked by now): what each one is."""
    for entry, file, _ in plan.entries:
        chain = provenance.get(file.id)
        entry.provenance = [s.model_dump(mode="json") for s in chain.steps] if chain else []
    run = plan.run
    manifest = {
        "run": run.id,
        "workspace": run.workspace,
        "project": run.project,
        "sha": run.sha,
        "actions": run.actions,
        "sites": [s.backend for s in run.sites],
        "collected_at": dt.datetime.now(dt.UTC).isoformat(),
        "files": [entry.to_json() for entry, _, _ in plan.entries],
        "missing": plan.missing,
    }
    plan.folder.mkdir(parents=True, exist_ok=True)
    (plan.folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    return Collected(plan.folder, run.id, [e for e, _, _ in plan.entries], plan.missing)
