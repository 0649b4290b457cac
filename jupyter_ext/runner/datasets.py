"""A backend's datasets, on its site: described here, checked before every job that reads one.

`jupyter ext runner dataset add` computes a dataset's manifest where the data lives: each
file's path, size and sha256 and, for CSV and TSV tables, the number of rows and each
column's name and type (integer, number, boolean, date, text, empty), never a value. Only
the manifest (and a dummy data's manifest and bytes) goes to the job server. Files are read
a chunk or a row at a time, so a dataset of any size fits in memory.

A dataset must lie inside the site's data roots (`c.RunnerApp.data_roots`), and every
symbolic link in it must point inside the dataset's own folder: a link out of it would give
jobs data that was never registered (and a container would not see it anyway). A refused
dataset is neither read further nor sent.

The site's registry, `<workdir>/datasets.json`, keeps each version's folder, sha256 and
manifest, so that the runner finds the folder of the version a job was leased and checks,
before the job runs, that its files are still the ones registered (sizes, then sha256,
which is computed again only for a file whose size or mtime changed).
"""

from __future__ import annotations

import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import logging
import os
import re
import secrets
from collections.abc import Iterator
from pathlib import Path

from .. import schema
from .hashing import sha256_file

log = logging.getLogger("jupyter_ext.runner.datasets")
REGISTRY = "datasets.json"
TYPES = ("integer", "number", "boolean", "date")  # tried in this order; else text
TABLES = {".csv": ",", ".tsv": "\t", ".tab": "\t"}
MAX_FILES = 100_000
MAX_COLUMN_NAME = 500
INTEGER = re.compile(r"[+-]?\d+")
NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?(?:inf|nan)", re.I)
BOOLEAN = {"true", "false", "t", "f", "yes", "no", "y", "n"}
DATE = re.compile(
    r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
)


class DatasetRefused(Exception):
    """A dataset this site will not register or give to a job; the message says why."""


# -- where a dataset may be ---------------------------------------------------------------


def _within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_location(path: Path | str, roots: list[str], what: str = "the dataset") -> Path:
    """The dataset's folder, resolved, if it lies inside one of the data roots."""
    if not roots:
        raise DatasetRefused(
            "this site has no data roots: set c.RunnerApp.data_roots to the folders that may "
            "hold datasets (a dataset outside them is refused)"
        )
    given = Path(path).expanduser()
    try:
        folder = given.resolve(strict=True)
    except (OSError, RuntimeError):
        raise DatasetRefused(f"{what} {given} does not exist on this site") from None
    resolved = [Path(root).expanduser().resolve() for root in roots]
    if not any(_within(folder, root) for root in resolved):
        shown = ", ".join(str(root) for root in resolved)
        raise DatasetRefused(
            f"{what} {given} is outside the data roots ({shown}): move it into one, or add its "
            "folder to c.RunnerApp.data_roots"
        )
    return folder


def list_files(folder: Path, roots: list[str] | None = None) -> list[tuple[str, Path]]:
    """Every file of the dataset: (relative path, path), sorted; a link that leaves the
    dataset's folder is refused, naming it (and saying if it leaves the data roots)."""
    folder = Path(folder).resolve()
    if folder.is_file():
        return [(folder.name, folder)]
    found: list[tuple[str, Path]] = []
    for current, dirs, files in os.walk(folder):  # links are not followed: each is checked
        here = Path(current)
        for name in sorted([*dirs, *files]):
            path = here / name
            if path.is_symlink():
                _check_link(path, folder, roots)
                if path.is_dir():  # inside the dataset: its files are listed from there
                    continue
            if name in files:
                found.append((path.relative_to(folder).as_posix(), path))
            if len(found) > MAX_FILES:
                raise DatasetRefused(
                    f"{folder} holds more than {MAX_FILES} files: register "
                    "parts of it as datasets of their own"
                )
    return sorted(found)


def _check_link(link: Path, folder: Path, roots: list[str] | None) -> None:
    relative = link.relative_to(folder).as_posix()
    try:
        target = link.resolve(strict=True)
    except (OSError, RuntimeError):
        raise DatasetRefused(f"{relative} is a link to nothing ({os.readlink(link)})") from None
    if _within(target, folder):
        return
    outside_roots = roots is not None and not any(
        _within(target, Path(root).expanduser().resolve()) for root in roots
    )
    where = "out of the data roots" if outside_roots else "out of the dataset's folder"
    raise DatasetRefused(
        f"{relative} is a symbolic link pointing {where} (to {target}): a dataset may only "
        "link to its own files; copy the file in instead"
    )


# -- what a file holds ---------------------------------------------------------------------


def _opened(path: Path) -> tuple[io.TextIOBase, str] | None:
    """A table file opened as text, with its delimiter (None if it is not a table)."""
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    kind = suffixes[-2] if compressed and len(suffixes) > 1 else (suffixes[-1] if suffixes else "")
    if kind not in TABLES:
        return None
    raw = gzip.open(path, "rb") if compressed else path.open("rb")  # noqa: SIM115 (closed by caller)
    text = io.TextIOWrapper(raw, encoding="utf-8-sig", errors="replace", newline="")
    return text, TABLES[kind]


def _value_types(value: str, candidates: list[str]) -> list[str]:
    """The types of `candidates` that `value` (not empty) can be."""
    kept = []
    for kind in candidates:
        if kind == "integer":
            ok = INTEGER.fullmatch(value) is not None
        elif kind == "number":
            ok = NUMBER.fullmatch(value) is not None
        elif kind == "boolean":
            ok = value.lower() in BOOLEAN
        else:
            ok = DATE.fullmatch(value) is not None and _real_date(value[:10])
        if ok:
            kept.append(kind)
    return kept


def _real_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def table_summary(path: Path) -> tuple[int, list[schema.Column]] | None:
    """A CSV or TSV table's data rows and its columns with their types, read a row at a
    time; None for a file that is not a table, or that cannot be read as one."""
    opened = _opened(Path(path))
    if opened is None:
        return None
    text, delimiter = opened
    try:
        with text:
            reader = csv.reader(text, delimiter=delimiter)
            header = next(reader, None)
            if header is None:
                return 0, []
            names = [name.replace("\0", "").strip()[:MAX_COLUMN_NAME] for name in header]
            candidates = [list(TYPES) for _ in names]
            seen = [False] * len(names)
            rows = 0
            for row in reader:
                if not row:  # a blank line is no row
                    continue
                rows += 1
                for i, value in enumerate(row[: len(names)]):
                    value = value.strip()
                    if not value:
                        continue
                    seen[i] = True
                    if candidates[i]:
                        candidates[i] = _value_types(value, candidates[i])
    except (csv.Error, OSError, EOFError, gzip.BadGzipFile):
        return None
    columns = [
        schema.Column(name=name, type=(kinds[0] if kinds else "text") if any_value else "empty")
        for name, kinds, any_value in zip(names, candidates, seen, strict=True)
    ]
    return rows, columns


# -- sha256, cached by size and mtime -------------------------------------------------------


def _stamp(path: Path) -> list[int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns]


class HashCache:
    """Each file's sha256 by its path, kept until its size or mtime changes: data that did not
    change is not read again (a job would otherwise wait for every dataset to be hashed)."""

    def __init__(self, cache: Path | None, folder: Path) -> None:
        key = hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()[:24]
        self.entry = Path(cache) / "dataset-files" / f"{key}.json" if cache else None
        self.known: dict[str, list] = {}
        if self.entry is not None:
            try:
                self.known = json.loads(self.entry.read_text())
            except (OSError, ValueError):
                self.known = {}
        self.now: dict[str, list] = {}

    def sha256(self, relative: str, path: Path) -> str:
        stamp = _stamp(path)
        old = self.known.get(relative)
        if stamp is not None and old is not None and old[:2] == stamp:
            sha = old[2]
        else:
            sha = sha256_file(path)
        if stamp is not None:
            self.now[relative] = [*stamp, sha]
        return sha

    def save(self) -> None:
        if self.entry is not None and self.now != self.known:
            write_json(self.entry, self.now)


# -- manifests -------------------------------------------------------------------------------


def build_manifest(
    folder: Path, roots: list[str] | None = None, cache: Path | None = None
) -> schema.Manifest:
    """The manifest of a dataset (or dummy data) folder, or of a single file."""
    hashes = HashCache(cache, folder)
    entries = []
    for relative, path in list_files(Path(folder), roots):
        size = path.stat().st_size
        sha = hashes.sha256(relative, path)
        summary = table_summary(path)
        rows, columns = summary if summary is not None else (None, None)
        entries.append(
            schema.ManifestFile(path=relative, size=size, sha256=sha, rows=rows, columns=columns)
        )
    hashes.save()
    return schema.Manifest(files=entries, sha256=schema.manifest_digest(entries))


def manifest_problem(
    folder: Path, manifest: schema.Manifest, roots: list[str] | None, cache: Path | None
) -> str | None:
    """How the folder's files differ from the manifest (None when they match): a file gone,
    added, of another size or with other bytes, each named."""
    try:
        files = dict(list_files(Path(folder), roots))
    except DatasetRefused as exc:
        return str(exc)
    wanted = {f.path: f for f in manifest.files}
    if missing := sorted(wanted.keys() - files.keys()):
        return f"{missing[0]} is missing"
    if added := sorted(files.keys() - wanted.keys()):
        return f"{added[0]} is not in the registered manifest (a file added since)"
    hashes = HashCache(cache, folder)
    try:
        for relative, entry in sorted(wanted.items()):
            size = _stamp(files[relative])
            if size is None:
                return f"{relative} is missing"
            if size[0] != entry.size:
                return f"{relative} has {size[0]} bytes, the manifest says {entry.size}"
            sha = hashes.sha256(relative, files[relative])
            if sha != entry.sha256:
                return (
                    f"{relative} has changed since it was registered (sha256 {sha[:12]}…, "
                    f"registered {entry.sha256[:12]}…)"
                )
    finally:
        hashes.save()
    return None


# -- the site's registry -----------------------------------------------------------------------


def write_json(path: Path, data) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    part.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(part, path)


class Registry:
    """`<workdir>/datasets.json`: name -> description, owner, status, dummy folder and each
    version's folder, sha256 and manifest (and its dummy data's manifest)."""

    def __init__(self, workdir: Path) -> None:
        self.path = Path(workdir) / REGISTRY

    def load(self) -> dict[str, dict]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        return data.get("datasets", {})

    def save(self, datasets: dict[str, dict]) -> None:
        write_json(self.path, {"datasets": datasets})

    def get(self, name: str) -> dict | None:
        return self.load().get(name)

    def record(self, name: str, dataset: schema.Dataset, folder: Path, dummy: Path | None) -> int:
        """Keep what the job server answered a registration with (its newest version is the
        one just sent); returns that version's number."""
        datasets = self.load()
        entry = datasets.setdefault(name, {"versions": {}})
        latest = dataset.versions[0]
        entry.update(
            description=dataset.description,
            owner=dataset.owner,
            status=str(dataset.status),
            dummy=str(dummy) if dummy else None,
        )
        entry["versions"][str(latest.version)] = {
            "path": str(folder),
            "sha256": latest.manifest.sha256,
            "manifest": latest.manifest.model_dump(mode="json"),
            "dummy": latest.dummy.model_dump(mode="json") if latest.dummy else None,
            "registered_at": latest.created_at.isoformat(),
        }
        self.save(datasets)
        return latest.version

    def retire(self, name: str) -> None:
        datasets = self.load()
        datasets[name]["status"] = "retired"
        self.save(datasets)


def latest_version(entry: dict) -> tuple[int, dict]:
    number = max(int(v) for v in entry["versions"])
    return number, entry["versions"][str(number)]


def leased_folders(
    leased: list[schema.LeasedDataset], registry: Registry, roots: list[str], cache: Path
) -> dict[str, Path]:
    """The folder of each leased dataset version, once its files are checked against the
    version's manifest; DatasetRefused, saying which dataset and which file, otherwise."""
    if not leased:
        return {}
    known = registry.load()
    folders = {}
    for item in leased:
        what = f"the dataset {item.name} (version {item.version})"
        entry = known.get(item.name)
        version = (entry or {}).get("versions", {}).get(str(item.version))
        if version is None:
            raise DatasetRefused(
                f"{what} is not registered on this site: see `jupyter ext runner dataset list`"
            )
        if entry.get("status") == "retired":
            raise DatasetRefused(f"{what} is retired on this site")
        if version["sha256"] != item.sha256:
            raise DatasetRefused(
                f"{what}: the job server leased sha256 {item.sha256[:12]}…, "
                f"this site registered {version['sha256'][:12]}…"
            )
        try:  # the sentence goes to the job server: where the data lives stays in the log
            folder = check_location(version["path"], roots, what)
        except DatasetRefused as exc:
            log.error("%s", exc)
            raise DatasetRefused(
                f"{what} is no longer where this site registered it, or "
                "outside its data roots: the site's log says more"
            ) from None
        manifest = schema.Manifest.model_validate(version["manifest"])
        problem = manifest_problem(folder, manifest, roots, cache)
        if problem is not None:
            log.error("%s does not match its manifest: %s", what, problem)
            raise DatasetRefused(f"{what} does not match its manifest: {_pathless(problem)}")
        folders[item.name] = folder
    return folders


def _pathless(problem: str) -> str:
    """A manifest problem as the job server may read it: a link's target is the site's."""
    return problem.split(" (to /", 1)[0] if " (to /" in problem else problem


def iter_dummy(
    folder: Path, manifest: schema.Manifest
) -> Iterator[tuple[schema.ManifestFile, Path]]:
    files = dict(list_files(Path(folder)))
    for entry in manifest.files:
        yield entry, files[entry.path]
