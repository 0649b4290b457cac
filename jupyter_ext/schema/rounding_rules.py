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

from pydantic import Field

from .common import Model
from .table_summary import is_midpoint_rounded, parse_number
from .tables import MAX_CELLS_NAMED, Finding, Table, Verdict, read_table

Cell = tuple[int, str]


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
    header, columns = table.header, table.columns
    marker = (rules.suppression_marker or "").strip()
    unrounded: list[Cell] = []
    off_midpoint: list[Cell] = []
    unmarked: list[Cell] = []
    for name, cells in zip(header, columns, strict=True):
        kinds = _count_cells(cells, marker)
        if kinds is None:
            continue
        for row, (cell, number) in enumerate(zip(cells, kinds, strict=True), 1):
            if number is None:
                if rules.suppression_marker is not None and cell.strip() != marker:
                    unmarked.append((row, name))
                continue
            if rules.multiple_of and number % rules.multiple_of:
                unrounded.append((row, name))
            if rules.midpoint and not is_midpoint_rounded(number, rules.midpoint):
                off_midpoint.append((row, name))
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


def _count_cells(cells: list[str], marker: str) -> list[int | None] | None:
    """Each cell's count (None for a marker, an empty cell or other text), or None for the
    whole column when it is no count column: one fraction or negative, or no number at all.
    Each distinct cell is judged once."""
    judged: dict[str, int | None] = {}
    for cell in set(cells):
        value = cell.strip()
        number = parse_number(value) if value and value != marker else None
        if number is not None and (number < 0 or number != int(number)):
            return None
        judged[cell] = None if number is None else int(number)
    if all(v is None for v in judged.values()):
        return None
    return [judged[cell] for cell in cells]


def _finding(
    rule: str, cells: list[Cell], why: str, fix: str, verdict: Verdict, noun: str = "count"
) -> Finding:
    cells.sort()
    count = f"1 {noun} is" if len(cells) == 1 else f"{len(cells):,} {noun}s are"
    named = ", ".join(f"row {r} {c!r}" for r, c in cells[:MAX_CELLS_NAMED])
    more = f" and {len(cells) - MAX_CELLS_NAMED:,} more" if len(cells) > MAX_CELLS_NAMED else ""
    return Finding(
        rule=rule,
        verdict=verdict,
        cells=cells[:MAX_CELLS_NAMED],
        message=f"{count} {why} ({named}{more}): {fix}, then run the action again",
    )
