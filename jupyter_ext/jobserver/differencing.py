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
columns and keys, so a review looks only at tables of its own shape, and within a shape
finds the released counts near each reviewed one by bisection.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections import Counter, defaultdict
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


@dataclass
class _Shape:
    """The released tables of one set of columns and keys, filed for a quick review: which
    tables hold each key, and each (key, count column)'s values sorted, so the released
    values near a reviewed one are found by bisection, not by walking every table."""

    names: list[str] = field(default_factory=list)
    tables_with: dict[tuple[str, ...], list[int]] = field(default_factory=dict)
    values: dict[tuple[tuple[str, ...], str], list[tuple[int, int]]] = field(default_factory=dict)
    ordered: bool = True  # sorted after a bulk build, and at the first review after an add

    def sort(self) -> None:
        if not self.ordered:
            for values in self.values.values():
                values.sort()
            self.ordered = True


class ReleasedIndex:
    """The tables a project released, filed by their set of columns and key columns."""

    def __init__(self, tables: Iterable[Table] = (), markers: Iterable[str] = DEFAULT_MARKERS):
        self.markers = tuple(markers)
        self._shapes: dict[tuple[frozenset[str], tuple[str, ...]], _Shape] = defaultdict(_Shape)
        for table in tables:
            self.add(table)
        for shape in self._shapes.values():
            shape.sort()

    def __len__(self) -> int:
        return sum(len(shape.names) for shape in self._shapes.values())

    def add(self, table: Table) -> None:
        parsed = _parse(table, self.markers)
        shape = self._shapes[(frozenset(table.columns), parsed.keys)]
        number = len(shape.names)
        shape.names.append(table.name)
        shape.ordered = False
        for key, counts in parsed.by_key.items():
            shape.tables_with.setdefault(key, []).append(number)
            for column, value in zip(parsed.counts, counts, strict=True):
                if value is not None:
                    shape.values.setdefault((key, column), []).append((value, number))

    def check(self, table: Table, threshold: int) -> list[Overlap]:
        """The released tables `table` overlaps, each with the cells whose difference from
        it is a count from 1 to `threshold`, in the order they were released."""
        if not self._shapes:
            return []
        reviewed = _parse(table, self.markers)
        shape = self._shapes.get((frozenset(table.columns), reviewed.keys))
        if shape is None:
            return []
        shape.sort()
        shared: Counter[int] = Counter()
        for key in reviewed.by_key:
            shared.update(shape.tables_with.get(key, ()))
        cells: dict[int, list[tuple[int, str]]] = defaultdict(list)
        rows = _first_rows(table, reviewed)
        for key, counts in reviewed.by_key.items():
            for column, mine in zip(reviewed.counts, counts, strict=True):
                near = shape.values.get((key, column)) if mine is not None else None
                if not near:
                    continue
                low = bisect_left(near, (mine - threshold, -1))
                high = bisect_right(near, (mine + threshold, len(shape.names)))
                for theirs, number in near[low:high]:
                    if theirs != mine:
                        cells[number].append((rows[key], column))
        return [
            Overlap(shape.names[n], shared[n], sorted(set(cells.get(n, ()))))
            for n in sorted(shared)
        ]


def _first_rows(table: Table, parsed: _Parsed) -> dict[tuple[str, ...], int]:
    """Each key's row number (from 1) in the reviewed table: the row a finding names."""
    place = {name: number for number, name in enumerate(table.columns)}
    key_at = [place[k] for k in parsed.keys]
    rows: dict[tuple[str, ...], int] = {}
    for number, row in enumerate(table.rows, 1):
        rows.setdefault(tuple(_cell(row, n).strip() for n in key_at), number)
    return rows


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
