"""What made a job's outputs, recorded on the site: enough to trace them and to run it again.

The agent records, for each job that succeeds: its commit and command, what it
ran in (the image and its digest, or the interpreter and its packages), the
sha256 of every input it was given (its needs' outputs, with the job that made
each) and of every dataset, and its outputs' sha256. It sends this to the job
server and keeps it on the site (`provenance/<job>.json`), with every output's
bytes in a content-addressed store (`store/<sha[:2]>/<sha>`), so that `jupyter
ext runner verify` can put a job's exact inputs back even after a later run has
overwritten the workspace folder's copy. Which job made an action's outputs is kept in
the site's records (`records/<workspace>/<action>.json`), outside every folder a job or an
output's copy can write: the next job's inputs come from there and from the store only.
A job's files are copied into the store (never linked: the job owned them), and the
workspace folder's copy is a hard link to the stored bytes, so an output takes its room once.

What is slow to learn is cached on the site (`cache/`): an interpreter's
packages (until it or its package folders change) and each dataset file's
sha256 (until its size or mtime changes; see `datasets.HashCache`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
from pathlib import Path

from .. import schema
from .._version import __version__
from .hashing import sha256_file
from .paths import PathEscape, inside, safe_name, safe_relative

log = logging.getLogger("jupyter_ext.runner.provenance")
SHA256 = re.compile(r"[0-9a-f]{64}")
PACKAGES = """
import importlib.metadata, json, sys
packages = {}
for dist in importlib.metadata.distributions():
    name = dist.metadata["Name"]
    if name and name not in packages:  # the first on sys.path is the one imported
        packages[name] = dist.version
print(json.dumps({"packages": packages, "paths": [p for p in sys.path if p]}))
"""


class OutputsTooBig(Exception):
    """More bytes than the site keeps of one job's outputs; `.size` is how many were seen."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes")
        self.size = size


class Store:
    """Bytes by their sha256: each kept once, never changed, found again by hash."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def keep(self, source: Path, sha256: str) -> Path:
        """Keep `source` (whose sha256 the caller computed): a hard link if possible, else a
        copy, put in place atomically so the store never holds half a file."""
        target = self.path(sha256)
        if target.exists():
            return target
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(f".{sha256}.{secrets.token_hex(4)}")
        try:
            os.link(source, part)
        except OSError:  # another file system, or links not allowed
            shutil.copyfile(source, part)
        os.chmod(part, 0o444)
        os.replace(part, target)
        return target

    def take(self, fd: int, limit: int) -> tuple[str, int, bool]:
        """Copy the open file `fd` (a job wrote it) into the store: (its sha256, its size,
        whether the store did not hold it yet), of the bytes copied, not of a file the job may
        change later. Never linked: the job owns that inode. OutputsTooBig past `limit` bytes,
        with nothing kept."""
        self.root.mkdir(parents=True, exist_ok=True)
        part = self.root / f".take.{secrets.token_hex(8)}"
        digest, size = hashlib.sha256(), 0
        try:
            with os.fdopen(os.dup(fd), "rb") as source, part.open("xb") as copy:
                while chunk := source.read(1 << 20):
                    size += len(chunk)
                    if size > limit:
                        raise OutputsTooBig(size)
                    digest.update(chunk)
                    copy.write(chunk)
            sha256 = digest.hexdigest()
            target = self.path(sha256)
            new = not target.exists()
            if new:
                target.parent.mkdir(parents=True, exist_ok=True)
                os.chmod(part, 0o444)
                os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
        return sha256, size, new

    def copy_out(self, sha256: str, target: Path) -> str:
        """Put a copy of the stored bytes at `target` (resolved by the caller), replacing what
        is there rather than writing through it: the sha256 of the bytes copied, which the
        caller compares with the one it expects. A copy, not a link: a job may write it."""
        digest = hashlib.sha256()
        part = target.with_name(f".{target.name[:200]}.{secrets.token_hex(4)}")
        try:
            with self.path(sha256).open("rb") as source, part.open("xb") as copy:
                while chunk := source.read(1 << 20):
                    digest.update(chunk)
                    copy.write(chunk)
            os.replace(part, target)
        finally:
            part.unlink(missing_ok=True)
        return digest.hexdigest()

    def place(self, sha256: str, target: Path) -> None:
        """Put the stored bytes at `target` (resolved by the caller) as a hard link to the
        store, so that a kept output takes its room once; a copy where links cannot be. The
        target is replaced, never written through."""
        part = target.with_name(f".{target.name[:200]}.{secrets.token_hex(4)}")
        try:
            os.link(self.path(sha256), part)
        except OSError:  # another file system, or links not allowed
            shutil.copyfile(self.path(sha256), part)
        os.replace(part, target)

    def problem(self, sha256: str) -> str | None:
        """Why the store cannot give these bytes back (gone or changed), or None."""
        path = self.path(sha256)
        if not path.is_file():
            return "its bytes are no longer in the site's store"
        if sha256_file(path) != sha256:
            return "its bytes in the site's store have changed"
        return None


# -- the site's records of which job made an action's outputs ----------------------------


def read_record(
    records: Path, workspace: str, action: str
) -> tuple[str | None, dict[str, str], set[str]]:
    """Which job made an action's outputs in a workspace, their sha256, and which of them are
    highly sensitive: from the site's own records (`records/<workspace>/<action>.json`), never
    from a folder a job can write. A record that is not as the runner writes it is refused
    (PathEscape), not half read."""
    path = inside(records, safe_name(workspace, "the workspace"), f"{safe_name(action)}.json")
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None, {}, set()
    job, outputs, hidden = data.get("job"), data.get("outputs"), data.get("hidden", [])
    if not isinstance(outputs, dict) or not all(
        isinstance(sha, str) and SHA256.fullmatch(sha) for sha in outputs.values()
    ):
        raise PathEscape(
            f"the site's record of the action {action!r} is not readable: run it again"
        )
    for relative in outputs:  # what the path is stays in the site's log, not in the sentence
        try:
            safe_relative(relative, "a recorded output")
        except PathEscape as exc:
            log.error("the record %s is refused: %s", path, exc)
            raise PathEscape(
                f"the site's record of the action {action!r} names an output out of the job's "
                "folder: run it again"
            ) from None
    return job, dict(outputs), set(hidden)


def write_record(
    records: Path, workspace: str, action: str, job: str, outputs: dict[str, str], hidden=()
) -> None:
    """Keep which job made the action's outputs (`hidden`: the highly sensitive ones)."""
    path = inside(records, safe_name(workspace, "the workspace"), f"{safe_name(action)}.json")
    _write_json(path, {"job": job, "outputs": outputs, "hidden": sorted(hidden)})


# -- what the job ran in ----------------------------------------------------


def describe_interpreter(program: str, search_path: str, cache: Path) -> tuple[str, dict]:
    """The file `program` resolves to on the job's PATH, and its installed packages' versions.

    Asking the interpreter takes a process (about 100 ms), so the answer is cached until the
    interpreter's file or any of its package folders changes (installing a package does)."""
    found = shutil.which(program, path=search_path)
    if found is None:
        return program, {}
    entry = cache / "interpreters" / f"{hashlib.sha256(found.encode()).hexdigest()[:24]}.json"
    stamp = _stamp(found)
    try:
        cached = json.loads(entry.read_text())
        if cached["stamp"] == stamp and all(_stamp(p) == s for p, s in cached["dirs"].items()):
            return found, cached["packages"]
    except (OSError, ValueError, KeyError):
        pass
    if not Path(found).name.startswith("python"):
        return found, {}
    answer = _ask_python(found, search_path)
    if answer is None:
        return found, {}
    dirs = {p: _stamp(p) for p in answer["paths"] if os.path.isdir(p)}
    _write_json(entry, {"stamp": stamp, "dirs": dirs, "packages": answer["packages"]})
    return found, answer["packages"]


def _ask_python(python: str, search_path: str) -> dict | None:
    """The interpreter's own account of its packages and its sys.path (None if it cannot)."""
    try:
        done = subprocess.run(
            [python, "-I", "-c", PACKAGES],
            env={"PATH": search_path, "LANG": "C.UTF-8"},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError):
        return None


def _stamp(path: str) -> list[int] | None:
    """What changes when a file or folder does: its size and mtime (None when it is gone)."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


# -- datasets ---------------------------------------------------------------


def dataset_digest(name: str, folder: Path, cache: Path) -> schema.DatasetDigest:
    """One sha256 over a dataset: its files' sorted relative paths and each file's sha256, as
    jobs recorded it before datasets were registered (`runner verify` of such a job uses it).

    A file is hashed again only when its size or mtime changed since the last job."""
    folder = Path(folder)
    key = hashlib.sha256(f"{name}\0{folder.resolve()}".encode()).hexdigest()[:24]
    entry = cache / "datasets" / f"{key}.json"
    try:
        known = json.loads(entry.read_text())
    except (OSError, ValueError):
        known = {}
    files = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder).as_posix()
        stamp = _stamp(str(path))
        if stamp is None:  # gone while we looked
            continue
        old = known.get(relative)
        same = old is not None and old[:2] == stamp
        files[relative] = [*stamp, old[2] if same else sha256_file(path)]
    if files != known:
        _write_json(entry, files)
    digest = hashlib.sha256()
    for relative, (_, _, sha) in sorted(files.items()):
        digest.update(f"{relative}\0{sha}\n".encode())
    return schema.DatasetDigest(name=name, sha256=digest.hexdigest())


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    part.write_text(json.dumps(data))
    os.replace(part, path)


# -- the record of one job --------------------------------------------------


def start_record(
    inputs: list[schema.FileDigest], datasets: list[schema.LeasedDataset], hidden=()
) -> dict:
    """What the job was given, written before it runs (a restarted runner reads it back): its
    inputs (`hidden`: the highly sensitive ones), and each leased dataset version by its
    registered hash (the runner checked the files against that version's manifest before the
    job started)."""
    return {
        "hidden": sorted(hidden),
        "started_at": dt.datetime.now(dt.UTC).isoformat(),
        "inputs": [i.model_dump(mode="json") for i in inputs],
        "datasets": [
            schema.DatasetDigest(name=d.name, sha256=d.sha256, version=d.version).model_dump(
                mode="json"
            )
            for d in sorted(datasets, key=lambda d: d.name)
        ],
    }


def build(
    lease: schema.Lease,
    executor: str,
    facts: dict,
    start: dict,
    outputs: list[schema.Output],
    search_path: str,
    cache: Path,
) -> schema.Provenance:
    """The job's provenance from its lease, what the executor said and what it was given."""
    interpreter, packages = None, {}
    if facts.get("interpreter"):
        interpreter, packages = describe_interpreter(facts["interpreter"], search_path, cache)
    return schema.Provenance(
        repo=lease.repo,
        commit=lease.sha,
        action=lease.action,
        run=lease.run,
        executor=facts.get("executor") or executor,
        image=facts.get("image"),
        image_digest=facts.get("image_digest") or facts.get("image_id"),
        interpreter=interpreter,
        packages=packages,
        parameters=lease.parameters,
        inputs=start.get("inputs", []),
        datasets=start.get("datasets", []),
        outputs=[schema.FileDigest(path=o.path, sha256=o.sha256) for o in outputs],
        runner_version=__version__,
        started_at=start.get("started_at"),
        completed_at=dt.datetime.now(dt.UTC),
    )


def write_site_record(folder: Path, lease: schema.Lease, provenance: schema.Provenance) -> Path:
    """`provenance/<job>.json`: the lease (never its token) and the provenance, for verify."""
    path = inside(folder, f"{safe_name(lease.identifier, 'the job')}.json")
    _write_json(
        path,
        {
            "lease": lease.model_dump(mode="json", exclude={"github_token"}),
            "provenance": provenance.model_dump(mode="json"),
        },
    )
    return path


def read_site_record(folder: Path, job: str) -> tuple[schema.Lease, schema.Provenance]:
    data = json.loads(inside(folder, f"{safe_name(job, 'the job')}.json").read_text())
    return schema.Lease.model_validate(data["lease"]), schema.Provenance.model_validate(
        data["provenance"]
    )
