"""Differencing in the job server: a file under review against the tables its project
released, the overlaps and findings kept on the file (`release_files.differencing`).

`differencing.py` compares tables; this module says when, and against what. A project's
released tables (published, their bytes uploaded, CSV or TSV, from every workspace of the
project) are filed in a `ReleasedIndex` kept in this process, because filing a thousand
tables takes a second or more while checking a file against them takes milliseconds. The
index is a cache and the database the truth: before each use it asks which released files
it does not hold yet and files only those, so every job server process keeps its own and
none goes stale. A released file deleted later still counts: its bytes left the job server
when it was released (downloads are audited, not recalled), so a new table subtracted from
it discloses as much as before.

The job server files, as it starts, the released tables of each project with a release under
review (`warm`), so the first review after a restart does not wait for them. A file is
compared when its review copy comes, and every file of the project under review
is compared again when a released file's bytes come (a release published meanwhile changes
what a pending review overlaps). Differencing never fails an upload: what goes wrong is
logged, and the file keeps what it had.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from . import orm
from .audit import record
from .differencing import Overlap, ReleasedIndex, Table, differencing_findings
from .events import emit_release
from .release_store import stored_path
from .review_copies import review_path, under_review
from .states import RELEASE_ACTS
from .views import release_rules

log = logging.getLogger(__name__)

TABLE_TYPES = {".csv": ",", ".tsv": "\t"}  # the delimiter of each kind of table
CELLS_KEPT = 20  # of an overlap's flagged cells, kept for the page; `flagged` counts them all


@dataclass(frozen=True)
class Released:
    """A released table as an overlap names it: where to link, never what it holds."""

    file: str
    release: str
    workspace: str
    path: str


@dataclass
class ProjectTables:
    """One project's released tables in this process, and the lock its readers share (an
    index sorts itself at the first check after an add)."""

    index: ReleasedIndex = field(default_factory=ReleasedIndex)
    files: dict[str, Released] = field(default_factory=dict)  # filed, by file id
    unreadable: set[str] = field(default_factory=set)  # not tried again by this process
    lock: threading.Lock = field(default_factory=threading.Lock)


class ReleasedTables:
    """Each project's released tables, by project id: the process's cache."""

    def __init__(self) -> None:
        self._projects: dict[int, ProjectTables] = {}
        self._lock = threading.Lock()
        self.warmed = threading.Event()  # set once `warm` has ended, however it ended

    def of(self, project_id: int) -> ProjectTables:
        with self._lock:
            return self._projects.setdefault(project_id, ProjectTables())


def released_tables(state: Any) -> ReleasedTables:
    """The app's cache (`app.state.released_tables`), made at its first use."""
    found = getattr(state, "released_tables", None)
    if found is None:  # two first uses at once make two; the one kept is as good
        found = state.released_tables = ReleasedTables()
    return found


def read_table(path: Path, name: str, file_path: str) -> Table | None:
    """The table in the file (UTF-8 without its byte order mark; blank lines are no rows),
    named `name`; None if it cannot be read as one."""
    delimiter = TABLE_TYPES.get(PurePosixPath(file_path).suffix.lower())
    if delimiter is None:
        return None
    try:
        data = path.read_bytes()
        text = data.removeprefix(codecs.BOM_UTF8).decode("utf-8")
        rows = [r for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) if r]
    except (OSError, UnicodeDecodeError, csv.Error):
        return None
    if not rows:
        return None
    return Table(name, rows[0], rows[1:])


def _project_of(row: orm.ReleaseFile) -> int:
    return row.release.workspace.project_id


def refresh(session: Session, tables: ProjectTables, project_id: int, release_dir: str) -> None:
    """File the project's released tables the index does not hold yet (call with its lock)."""
    found = session.execute(
        select(
            orm.ReleaseFile.id,
            orm.ReleaseFile.release_id,
            orm.Workspace.name,
            orm.ReleaseFile.path,
            orm.ReleaseFile.sha256,
        )
        .join(orm.Release, orm.Release.id == orm.ReleaseFile.release_id)
        .join(orm.Workspace, orm.Workspace.id == orm.Release.workspace_id)
        .where(
            orm.Workspace.project_id == project_id,
            orm.ReleaseFile.state == "released",
            orm.ReleaseFile.uploaded_at.is_not(None),
        )
        .order_by(orm.ReleaseFile.id)
    ).all()
    for file_id, release_id, workspace, path, sha256 in found:
        if file_id in tables.files or file_id in tables.unreadable:
            continue
        if PurePosixPath(path).suffix.lower() not in TABLE_TYPES:
            tables.unreadable.add(file_id)
            continue
        table = read_table(stored_path(release_dir, sha256), file_id, path)
        if table is None:
            log.warning("differencing: the released file %s cannot be read as a table", file_id)
            tables.unreadable.add(file_id)
            continue
        tables.index.add(table)
        tables.files[file_id] = Released(file_id, release_id, workspace, path)


def differencing(tables: ProjectTables, table: Table, threshold: int) -> dict[str, Any]:
    """The released tables `table` overlaps and the findings, as `release_files` keeps them:
    each overlap names a released file by its path, never a value (call with the lock)."""
    overlaps = tables.index.check(table, threshold)
    named = [replace(o, released=tables.files[o.released].path) for o in overlaps]
    return {
        "overlaps": [_overlap(tables.files[o.released], o) for o in overlaps],
        "findings": [f.model_dump(mode="json") for f in differencing_findings(named, threshold)],
    }


def _overlap(released: Released, overlap: Overlap) -> dict[str, Any]:
    return {
        "file": released.file,
        "release": released.release,
        "workspace": released.workspace,
        "path": released.path,
        "rows": overlap.rows,
        "cells": [list(cell) for cell in overlap.cells[:CELLS_KEPT]],
        "flagged": len(overlap.cells),
    }


def compare(
    session: Session, row: orm.ReleaseFile, tables: ProjectTables, release_dir: str
) -> bool:
    """Compare the file's review copy with the released tables and keep the result on it,
    audited when it changes; whether it changed (call with the lock)."""
    table = read_table(review_path(release_dir, row.sha256), row.id, row.path)
    if table is None:
        return False
    threshold = release_rules(row.release.backend).small_number_threshold
    found = differencing(tables, table, threshold)
    if found == row.differencing:
        return False
    before = _tally(row.differencing)
    row.differencing = found
    record(session, "system", "release_file.differencing", row, before, _tally(found))
    return True


def _tally(found: dict[str, Any] | None) -> dict[str, int] | None:
    """What the audit keeps of a comparison: how many overlaps and flagged cells."""
    if found is None:
        return None
    overlaps = found["overlaps"]
    return {"overlaps": len(overlaps), "flagged": sum(o["flagged"] for o in overlaps)}


def _open_files(session: Session, project_id: int) -> list[orm.ReleaseFile]:
    """The project's tables under review whose review copies have come."""
    release_states, file_states, _ = RELEASE_ACTS["vote"]
    rows = session.scalars(
        select(orm.ReleaseFile)
        .join(orm.Release, orm.Release.id == orm.ReleaseFile.release_id)
        .join(orm.Workspace, orm.Workspace.id == orm.Release.workspace_id)
        .where(
            orm.Workspace.project_id == project_id,
            orm.Release.state.in_(release_states),
            orm.ReleaseFile.state.in_(file_states),
            orm.ReleaseFile.review_uploaded_at.is_not(None),
        )
        .order_by(orm.ReleaseFile.id)
    ).all()
    return [r for r in rows if PurePosixPath(r.path).suffix.lower() in TABLE_TYPES]


def review_copy_kept(session: Session, cache: ReleasedTables, file_id: str, release_dir: str):
    """A file's review copy came: compare it with what its project released."""
    row = session.get(orm.ReleaseFile, file_id)
    if row is None or row.review_uploaded_at is None or not under_review(row):
        return
    if PurePosixPath(row.path).suffix.lower() not in TABLE_TYPES:
        return
    project_id = _project_of(row)
    tables = cache.of(project_id)
    with tables.lock:
        refresh(session, tables, project_id, release_dir)
        changed = compare(session, row, tables, release_dir)
    if changed:
        emit_release(session, row.release)
        session.commit()


def released_file_kept(session: Session, cache: ReleasedTables, file_id: str, release_dir: str):
    """A released file's bytes came: file it, and compare every file of its project under
    review again."""
    row = session.get(orm.ReleaseFile, file_id)
    if row is None or row.uploaded_at is None:
        return
    project_id = _project_of(row)
    tables = cache.of(project_id)
    changed: dict[str, orm.Release] = {}
    with tables.lock:
        refresh(session, tables, project_id, release_dir)
        if file_id not in tables.files:
            return  # not a table: nothing under review overlaps it
        for pending in _open_files(session, project_id):
            if compare(session, pending, tables, release_dir):
                changed[pending.release_id] = pending.release
    for release in changed.values():
        emit_release(session, release)
    if changed:
        session.commit()


def warm(state: Any) -> int:
    """At start-up: file the released tables of every project with a release under review, so
    the first review copy after a restart is not the one that waits for them (a thousand tables
    take a second or more, inside its upload). How many projects it filed; never raises."""
    release_states, _, _ = RELEASE_ACTS["vote"]
    cache = released_tables(state)
    try:
        with state.sessionmaker() as session:
            projects = session.scalars(
                select(orm.Workspace.project_id)
                .join(orm.Release, orm.Release.workspace_id == orm.Workspace.id)
                .where(orm.Release.state.in_(release_states))
                .distinct()
            ).all()
            for project_id in projects:
                tables = cache.of(project_id)
                with tables.lock:
                    refresh(session, tables, project_id, state.settings.release_dir)
    except Exception:  # a cache: the first review files what this did not
        log.exception("differencing: warming the released tables failed")
        return 0
    finally:
        cache.warmed.set()
    return len(projects)


KEPT = {"review": review_copy_kept, "release": released_file_kept}  # by upload purpose


def file_kept(state: Any, purpose: str, file_id: str) -> None:
    """After an upload of `purpose` ("review" or "release") kept a file's bytes: the
    comparisons it calls for. Never raises: an upload has succeeded whatever this finds."""
    step = KEPT.get(purpose)
    if step is None:
        return
    try:
        with state.sessionmaker() as session:
            step(session, released_tables(state), file_id, state.settings.release_dir)
    except Exception:  # a cache and a courtesy to the checkers, never the upload's failure
        log.exception("differencing after the %s upload of %s failed", purpose, file_id)
