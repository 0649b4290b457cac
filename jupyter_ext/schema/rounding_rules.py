"""Rounding and suppression rules: the two commonest reasons a checker sends a table back.

Unrounded counts cause about a third of rejections, so a backend can require, as data,
that counts be rounded to a multiple of N or midpoint-N rounded (see `table_summary`), and
that a suppressed cell carry one agreed marker, so checkers need not guess what an empty
cell or "NA" hides. Like the small-number rule, a finding names the row and column of each
cell, never its value, and says what to change.

A backend's `ReleaseRules.rounding`; every rule is off by default, so rules stored before
these existed still read.
"""

from __future__ import annotations

from heapq import merge
from itertools import islice

from pydantic import Field

from .common import Model
from .table_summary import FLOAT_DIGITS, is_midpoint_rounded, parse_number
from .tables import MAX_CELLS_NAMED, Finding, Table, Verdict, read_table

Rows = tuple[str, list[int]]  # a column's name, the rows of its cells found


class RoundingRules(Model):
    """A backend's rounding and suppression rules; each is off by default."""

    multiple_of: int = Field(
        0, ge=0, description="Counts must be multiples of this number; 0 turns it off."
    )
    midpoint: int = Field(
        0, ge=0, description="Counts must be midpoint-N rounded with this N; 0 turns it off."
    )
    suppression_marker: str | None = Field(
        None,
        description='What every suppressed cell of a count column holds, e.g. "[REDACTED]"; '
        "empty cells and other text in a count column are then reported.",
    )
    verdict: Verdict = Field(Verdict.REFUSE, description="What a finding does to the file.")

    @property
    def active(self) -> bool:
        return bool(self.multiple_of or self.midpoint or self.suppression_marker is not None)


def check_rounding(text: str, delimiter: str, rules: RoundingRules) -> list[Finding]:
    """The findings of the rules over a CSV (or TSV) table's text, by row and column."""
    return rounding_findings(read_table(text, delimiter), rules)


def rounding_findings(table: Table, rules: RoundingRules) -> list[Finding]:
    """The findings of the rules over a table already read (`check_file` reads it once)."""
    if not rules.active:
        return []
    marker = (rules.suppression_marker or "").strip()
    unrounded: list[Rows] = []
    off_midpoint: list[Rows] = []
    unmarked: list[Rows] = []
    for name, cells in zip(table.header, table.columns, strict=True):
        judged = _count_values(cells, marker)
        if judged is None:
            continue
        if rules.multiple_of:
            bad = {c for c, n in judged.items() if n is not None and n % rules.multiple_of}
            unrounded += _where(name, cells, bad)
        if rules.midpoint:
            bad = {
                c
                for c, n in judged.items()
                if n is not None and not is_midpoint_rounded(n, rules.midpoint)
            }
            off_midpoint += _where(name, cells, bad)
        if rules.suppression_marker is not None:
            bad = {c for c, n in judged.items() if n is None and c.strip() != marker}
            unmarked += _where(name, cells, bad)
    findings = []
    if unrounded:
        why = f"not multiples of {rules.multiple_of}"
        fix = f"round them to a multiple of {rules.multiple_of}"
        findings.append(_finding("rounding", unrounded, why, fix, rules.verdict))
    if off_midpoint:
        why = f"not midpoint-{rules.midpoint} rounded"
        fix = f"round them to the midpoint of {rules.midpoint} (0, or k*{rules.midpoint} - "
        fix += f"{rules.midpoint // 2})"
        findings.append(_finding("midpoint_rounding", off_midpoint, why, fix, rules.verdict))
    if unmarked:
        why = f"empty or marked otherwise than {rules.suppression_marker!r}"
        fix = f"mark every suppressed count as {rules.suppression_marker!r}"
        findings.append(_finding("suppression_marker", unmarked, why, fix, rules.verdict, "cell"))
    return findings


def _count_values(cells: list[str], marker: str) -> dict[str, int | None] | None:
    """Each distinct cell's count (None for a marker, an empty cell or other text), or None
    for the whole column when it is no count column: one number with a decimal point (a rate,
    even "12.0") or a negative, or no number at all. Tables repeat, so each distinct cell is
    judged once; a plain count at a glance."""
    judged: dict[str, int | None] = {}
    for cell in set(cells):
        if cell.isdecimal() and len(cell) <= FLOAT_DIGITS:
            judged[cell] = int(cell)
            continue
        value = cell.strip()
        number = parse_number(value) if value and value != marker else None
        if number is not None and (number < 0 or not isinstance(number, int)):
            return None  # "12.0" is written as a measure, not a count: as small numbers read it
        judged[cell] = None if number is None else int(number)
    if all(v is None for v in judged.values()):
        return None
    return judged


def _where(name: str, cells: list[str], bad: set[str]) -> list[Rows]:
    """The rows (from 1, in order) of the column's cells holding one of the `bad` values."""
    if not bad:
        return []
    rows = [row for row, cell in enumerate(cells, 1) if cell in bad]
    return [(name, rows)] if rows else []


def _finding(
    rule: str, found: list[Rows], why: str, fix: str, verdict: Verdict, noun: str = "count"
) -> Finding:
    """The first cells by row and column (each column's rows merged, none sorted whole: an
    unrounded table has a finding in nearly every cell), and how many there are."""
    total = sum(len(rows) for _, rows in found)
    each = [((row, name) for row in rows) for name, rows in found]
    cells = list(islice(merge(*each), MAX_CELLS_NAMED))
    count = f"1 {noun} is" if total == 1 else f"{total:,} {noun}s are"
    named = ", ".join(f"row {r} {c!r}" for r, c in cells)
    more = f" and {total - MAX_CELLS_NAMED:,} more" if total > MAX_CELLS_NAMED else ""
    return Finding(
        rule=rule,
        verdict=verdict,
        cells=cells,
        message=f"{count} {why} ({named}{more}): {fix}, then run the action again",
    )
