"""Differencing across releases: two tables each safe alone, whose difference is not.

The classic attack: "all patients by region" released last month, "all patients except
those over 90 by region" asked for now; subtracting one from the other gives the over-90s
by region, perhaps 1 or 2 in a region. A checker cannot hold every earlier release in
their head, so when a table comes for review it is compared with the tables the project
already released: those with the same columns whose rows overlap (matched on the key
columns) are named, and every count cell whose difference from the released one lies
from 1 to the threshold is flagged by row and column, naming the released table, never
either value.

Pure: tables in, overlaps out. `ReleasedIndex` files released tables by their set of
columns, so a review looks only at tables of its own shape.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..schema import Finding, Verdict
from ..schema.release_rules import MAX_CELLS_NAMED
from ..schema.table_summary import DEFAULT_MARKERS, parse_number

# numeric columns that are keys, not counts, by a word of their name
KEY_WORDS = frozenset({"year", "month", "week", "day", "date", "age", "period", "quarter"})


@dataclass(frozen=True)
class Table:
    """A table as read: `name` says which one (a released file's path or id)."""

    name: str
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass
class Overlap:
    """A released table of the same shape whose rows the reviewed table shares."""

    released: str
    rows: int = 0  # rows matched on the key columns
    cells: list[tuple[int, str]] = field(default_factory=list)  # (reviewed row from 1, column)


@dataclass(frozen=True)
class _Parsed:
    """A table split into key columns and count columns, counts by key: built once."""

    name: str
    keys: tuple[str, ...]
    counts: tuple[str, ...]
    by_key: dict[tuple[str, ...], tuple[int | None, ...]]


def key_columns(table: Table, markers: Iterable[str] = DEFAULT_MARKERS) -> tuple[str, ...]:
    """The columns rows are matched on: every column that is not all numbers (markers and
    empty cells aside), and numeric ones named like a key (`year`, `age_band`)."""
    known = {m.strip() for m in markers}
    keys = []
    for number, name in enumerate(table.columns):
        cells = {_cell(row, number).strip() for row in table.rows} - known - {""}
        numeric = bool(cells) and all(parse_number(c) is not None for c in cells)
        if not numeric or KEY_WORDS & set(re.split(r"[^a-z]+", name.lower())):
            keys.append(name)
    return tuple(keys)


def _cell(row: Sequence[str], number: int) -> str:
    return row[number] if number < len(row) else ""  # a short row's missing cells are empty


def _count(cell: str) -> int | None:
    number = parse_number(cell)
    return int(number) if number is not None and number == int(number) else None


def _parse(table: Table, markers: Iterable[str]) -> _Parsed:
    """Rows by key; of rows sharing a key, the first stands (a key should be unique)."""
    keys = key_columns(table, markers)
    place = {name: number for number, name in enumerate(table.columns)}
    counts = tuple(sorted(set(table.columns) - set(keys)))
    key_at = [place[k] for k in sorted(keys)]
    count_at = [place[c] for c in counts]
    by_key: dict[tuple[str, ...], tuple[int | None, ...]] = {}
    for row in table.rows:
        key = tuple(_cell(row, n).strip() for n in key_at)
        by_key.setdefault(key, tuple(_count(_cell(row, n)) for n in count_at))
    return _Parsed(table.name, tuple(sorted(keys)), counts, by_key)


class ReleasedIndex:
    """The tables a project released, filed by their set of columns."""

    def __init__(self, tables: Iterable[Table] = (), markers: Iterable[str] = DEFAULT_MARKERS):
        self.markers = tuple(markers)
        self._by_columns: dict[frozenset[str], list[_Parsed]] = defaultdict(list)
        for table in tables:
            self.add(table)

    def __len__(self) -> int:
        return sum(len(tables) for tables in self._by_columns.values())

    def add(self, table: Table) -> None:
        self._by_columns[frozenset(table.columns)].append(_parse(table, self.markers))

    def check(self, table: Table, threshold: int) -> list[Overlap]:
        """The released tables `table` overlaps, each with the cells whose difference from
        it is a count from 1 to `threshold`, in the order they were released."""
        candidates = self._by_columns.get(frozenset(table.columns), [])
        if not candidates:
            return []
        reviewed = _parse(table, self.markers)
        rows = _first_rows(table, reviewed)
        overlaps = []
        for released in candidates:
            if released.keys != reviewed.keys:
                continue
            overlap = _compare(reviewed, released, rows, threshold)
            if overlap.rows:
                overlaps.append(overlap)
        return overlaps


def _first_rows(table: Table, parsed: _Parsed) -> dict[tuple[str, ...], int]:
    """Each key's row number (from 1) in the reviewed table: the row a finding names."""
    place = {name: number for number, name in enumerate(table.columns)}
    key_at = [place[k] for k in parsed.keys]
    rows: dict[tuple[str, ...], int] = {}
    for number, row in enumerate(table.rows, 1):
        rows.setdefault(tuple(_cell(row, n).strip() for n in key_at), number)
    return rows


def _compare(reviewed: _Parsed, released: _Parsed, rows, threshold: int) -> Overlap:
    overlap = Overlap(released=released.name)
    mine, theirs = reviewed.by_key, released.by_key
    shared = mine.keys() & theirs.keys()
    overlap.rows = len(shared)
    for key in shared:
        for column, a, b in zip(reviewed.counts, mine[key], theirs[key], strict=True):
            if a is not None and b is not None and 0 < abs(a - b) <= threshold:
                overlap.cells.append((rows[key], column))
    overlap.cells.sort()
    return overlap


def differencing_findings(
    overlaps: list[Overlap], threshold: int, verdict: Verdict = Verdict.FLAG
) -> list[Finding]:
    """One finding per released table whose difference reveals small counts."""
    findings = []
    for overlap in overlaps:
        if not overlap.cells:
            continue
        cells = overlap.cells
        named = ", ".join(f"row {r} {c!r}" for r, c in cells[:MAX_CELLS_NAMED])
        more = f" and {len(cells) - MAX_CELLS_NAMED:,} more" if len(cells) > MAX_CELLS_NAMED else ""
        count = "1 cell differs" if len(cells) == 1 else f"{len(cells):,} cells differ"
        findings.append(
            Finding(
                rule="differencing",
                verdict=verdict,
                cells=cells[:MAX_CELLS_NAMED],
                message=f"{count} from the released table {overlap.released!r} by 1 to "
                f"{threshold} ({named}{more}), so subtracting one from the other reveals a "
                "small count: round or suppress them consistently with the released table",
            )
        )
    return findings
