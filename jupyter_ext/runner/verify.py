"""`jupyter ext runner verify JOB`: run a job again from its recorded inputs, compare outputs.

On the site only, and without the job server: it reads `provenance/<job>.json`,
checks the repository out at the recorded commit from the bare mirror under
`repos/` (no token: the commit was fetched when the job ran), puts the exact
bytes of its inputs back from the content-addressed store, checks that the
dataset versions it read still match their registered manifests (the site's
registry, `datasets.json`), runs the action in the executor in a
fresh folder, and compares the sha256 of the declared outputs with the
recorded ones. What it ran in (interpreter, packages, image) is compared too,
as notes: a difference there explains a difference in the outputs.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import schema
from ..pipeline import Outputs, match_outputs
from .checkout import CheckoutError, checkout
from .datasets import DatasetRefused, Registry, latest_version, leased_folders
from .executors import Executor
from .job_spec import files_of, job_spec
from .leases import LeaseRefused, check_lease
from .paths import PathEscape, inside, open_below, safe_relative
from .provenance import Store, build, dataset_digest, read_site_record

IDENTICAL, DIFFERENT, CANNOT = 0, 1, 2  # the command's exit codes


class CannotVerify(Exception):
    """The job cannot be run again as it ran: says what is missing or changed."""


@dataclass
class Outcome:
    """A re-run compared with the record: each output that differs as (path, recorded, now)."""

    job: str
    recorded: schema.Provenance
    differences: list[tuple[str, str | None, str | None]]
    ran: str  # how the re-run ended
    notes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differences

    def report(self) -> str:
        r = self.recorded
        lines = [
            f"job {self.job}: {r.action} of {r.repo} at {r.commit[:12]}, run again: {self.ran}"
        ]
        lines += [f"note: {note}" for note in self.notes]
        if self.identical:
            n = len(r.outputs)
            lines.append(f"byte-identical: {n} of {n} outputs have their recorded sha256")
            return "\n".join(lines)
        lines.append(
            f"not identical: {len(self.differences)} of "
            f"{len({*(o.path for o in r.outputs), *(d[0] for d in self.differences)})} "
            "outputs differ"
        )
        for path, before, now in self.differences:
            lines.append(f"  {path}")
            lines.append(f"    recorded {before or '(not made then)'}")
            lines.append(f"    now      {now or '(not made now)'}")
        return "\n".join(lines)


async def verify(
    job: str,
    workdir: Path,
    executor: Executor,
    data_roots: list[str],
    on_line: Callable[[str], None],
) -> Outcome:
    """Run `job` again in a fresh folder under `workdir/verify` and compare its outputs."""
    workdir = Path(workdir)
    lease, recorded = _record(workdir, job)
    try:  # the recorded lease is checked as a job server's would be: the record may be old
        check_lease(lease, executor.resource_limits())  # its resources, within today's limits
    except LeaseRefused as exc:
        raise CannotVerify(f"the recorded lease is not one this runner runs: {exc}") from None
    given = _datasets(recorded, Registry(workdir), data_roots, workdir / "cache")
    (workdir / "verify").mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{job}-", dir=workdir / "verify"))
    try:
        job_dir = folder / "workspace"
        try:
            await checkout(lease.repo, recorded.commit, job_dir, workdir / "repos", None)
        except CheckoutError as exc:
            raise CannotVerify(f"the commit cannot be checked out on this site: {exc}") from None
        _place_inputs(recorded.inputs, Store(workdir / "store"), job_dir)
        before = files_of(job_dir)
        spec = job_spec(
            lease,
            job_dir,
            folder / "scratch",
            given,
            identifier=f"{job}-verify-{secrets.token_hex(3)}",
        )
        execution = await executor.run(spec, on_line)
        if execution.exit_code is None:
            raise CannotVerify(f"the action could not run again: {execution.message}")
        now = _outputs(lease, job_dir, before)
        ran = "it succeeded" if execution.exit_code == 0 else f"it failed ({execution.message})"
        again = build(
            lease, executor.name, execution.provenance, {}, [], spec.env["PATH"], workdir / "cache"
        )
        return Outcome(job, recorded, _differences(recorded, now), ran, _notes(recorded, again))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _record(workdir: Path, job: str) -> tuple[schema.Lease, schema.Provenance]:
    try:
        return read_site_record(workdir / "provenance", job)
    except FileNotFoundError:
        raise CannotVerify(
            f"this site holds no provenance of job {job} (in {workdir / 'provenance'}): it did "
            "not succeed here, or it ran before provenance was kept, or --workdir is another"
        ) from None
    except PathEscape as exc:
        raise CannotVerify(str(exc)) from None
    except (ValueError, KeyError) as exc:
        raise CannotVerify(
            f"the provenance of job {job} on this site is unreadable: {exc}"
        ) from None


def _datasets(
    recorded: schema.Provenance, registry: Registry, roots: list[str], cache: Path
) -> dict[str, Path]:
    """The datasets the job read, each still as its version was registered."""
    leased = [
        schema.LeasedDataset(name=d.name, version=d.version, sha256=d.sha256)
        for d in recorded.datasets
        if d.version is not None
    ]
    try:
        given = leased_folders(leased, registry, roots, cache)
    except DatasetRefused as exc:
        raise CannotVerify(f"{exc}: the job cannot read what it read then") from None
    for digest in recorded.datasets:  # recorded before datasets had versions: by their digest
        if digest.version is not None:
            continue
        entry = registry.get(digest.name)
        if entry is None:
            raise CannotVerify(
                f"the dataset {digest.name!r} is not registered on this site "
                "(jupyter ext runner dataset list)"
            )
        folder = Path(latest_version(entry)[1]["path"])
        now = dataset_digest(digest.name, folder, cache).sha256
        if now != digest.sha256:
            raise CannotVerify(
                f"the dataset {digest.name!r} has changed since the job ran "
                f"(recorded {digest.sha256}, now {now})"
            )
        given[digest.name] = folder
    return given


def _place_inputs(inputs: list[schema.FileDigest], store: Store, job_dir: Path) -> None:
    """The exact bytes each input had, from the store, each through the one join into the
    job's folder; refused, naming it, if they are gone or its path leads out."""
    for item in inputs:
        why = store.problem(item.sha256)
        if why is not None:
            made_by = f", made by job {item.job}" if item.job else ""
            raise CannotVerify(
                f"the input {item.path} (sha256 {item.sha256}{made_by}) cannot be put back: {why}"
            )
        try:
            target = inside(job_dir, safe_relative(item.path, "the input"))
        except PathEscape as exc:
            raise CannotVerify(str(exc)) from None
        target.parent.mkdir(parents=True, exist_ok=True)
        store.copy_out(item.sha256, target)


def _outputs(lease: schema.Lease, job_dir: Path, before: dict) -> dict[str, str]:
    """The declared outputs the re-run made: path -> sha256."""
    produced = {p for p, sig in files_of(job_dir).items() if before.get(p) != sig}
    matched = match_outputs(Outputs(lease.outputs), produced)
    made = {}
    for path in sorted(matched.matched):
        try:  # the re-run wrote them: no link followed, as when the job ran
            fd = open_below(job_dir, path)
        except PathEscape:
            continue
        with os.fdopen(fd, "rb") as f:
            made[path] = hashlib.file_digest(f, "sha256").hexdigest()
    return made


def _differences(recorded: schema.Provenance, now: dict[str, str]) -> list[tuple]:
    then = {o.path: o.sha256 for o in recorded.outputs}
    return [
        (path, then.get(path), now.get(path))
        for path in sorted({*then, *now})
        if then.get(path) != now.get(path)
    ]


def _notes(recorded: schema.Provenance, again: schema.Provenance) -> list[str]:
    """How what it ran in differs from the first time (none when the same)."""
    notes = []
    for name in ("executor", "image", "image_digest", "interpreter"):
        before, now = getattr(recorded, name), getattr(again, name)
        if before != now:
            notes.append(f"the {name.replace('_', ' ')} differs: {before} then, {now} now")
    changed = sorted(
        name
        for name in {*recorded.packages, *again.packages}
        if recorded.packages.get(name) != again.packages.get(name)
    )
    if changed:
        shown = ", ".join(
            f"{n} {recorded.packages.get(n, '-')} -> {again.packages.get(n, '-')}"
            for n in changed[:10]
        )
        more = f" and {len(changed) - 10} more" if len(changed) > 10 else ""
        notes.append(f"packages differ: {shown}{more}")
    return notes
