"""Table summaries: what an output checker reads instead of the table.

Computed on the site where the table lives, so only the summary travels: per numeric
column its extremes, sum, how many cells are small, whether every value is rounded, and
how many cells hold a suppression marker. No cell of a text column leaves, not even as an
example; numeric extremes are the figures a checker would otherwise read off the table.

Midpoint-N rounding is OpenSAFELY's (their output-checking documentation, "Rounding to
midpoint 6", with the R function `roundmid_any(x, to=6)`, which is
`ceiling(x/to)*to - floor(to/2)*(x != 0)`): 0 stays 0, 1..6 becomes 3, 7..12 becomes 9,
13..18 becomes 15. So a midpoint-N rounded value is 0 or k*N - floor(N/2) for a whole
k >= 1; for N = 6, 0 or 6k - 3 (3, 9, 15, ...).
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable

from pydantic import Field

from .common import Model
from .release_rules import _read_columns

DEFAULT_MARKERS = ("[REDACTED]", "REDACTED", "*", "<7", "<8", "[suppressed]")
_WHOLE = re.compile(r"[+-]?\d+")

Number = int | float


class ColumnSummary(Model):
    """One column. Figures are present only for a numeric column."""

    name: str
    numeric: bool = Field(
        description="Every cell is a number, a marker or empty, and one at least is a number."
    )
    numbers: int = Field(0, description="Cells holding a number.")
    empty: int = Field(0, description="Empty cells, and cells of spaces only.")
    markers: dict[str, int] = Field(
        default_factory=dict, description="Cells holding each suppression marker (only those seen)."
    )
    minimum: Number | None = None
    minimum_above_zero: Number | None = None
    maximum: Number | None = None
    total: Number | None = Field(None, description="The sum of the numbers.")
    under_threshold: int = Field(0, description="Numbers from above 0 up to the threshold.")
    rounded_to_5: bool = Field(False, description="Every number is a multiple of 5.")
    rounded_to_10: bool = Field(False, description="Every number is a multiple of 10.")
    midpoint_6: bool = Field(False, description="Every number is 0 or 6k - 3 (k >= 1).")


class TableSummary(Model):
    rows: int = Field(description="Data rows; blank lines are none.")
    threshold: int = Field(description="The small-count threshold the summary counted under.")
    columns: list[ColumnSummary] = Field(default_factory=list)
    ragged_rows: int = Field(0, description="Rows with more or fewer cells than the header.")


def parse_number(cell: str) -> Number | None:
    """The number a cell holds, or None: whole numbers stay exact; "NaN", "inf" and numbers
    too large for a float are text, as no table of counts holds them."""
    value = cell.strip()
    try:
        number = float(value)
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return int(value) if _WHOLE.fullmatch(value) else number


def is_midpoint_rounded(value: Number, base: int) -> bool:
    """0, or k*base - floor(base/2) for a whole k >= 1 (see the module's docstring)."""
    if value != int(value) or value < 0:
        return False
    whole = int(value)
    return whole == 0 or (whole + base // 2) % base == 0


def summarise_table(
    text: str, delimiter: str = ",", threshold: int = 7, markers: Iterable[str] = DEFAULT_MARKERS
) -> TableSummary:
    """The summary of a CSV (or, with a tab delimiter, TSV) table's text, without a BOM."""
    header, columns, rows = _read_columns(text, delimiter)
    known = {m.strip() for m in markers}
    summary = TableSummary(rows=rows, threshold=threshold, ragged_rows=_ragged(text, delimiter))
    for name, cells in zip(header, columns, strict=True):
        summary.columns.append(_summarise_column(name, cells, threshold, known))
    return summary


def _ragged(text: str, delimiter: str) -> int:
    """Rows whose width differs from the header's: a sign the table was written by hand."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    lengths = (len(row) for row in reader if row)
    width = next(lengths, 0)
    return sum(1 for length in lengths if length != width)


def _summarise_column(
    name: str, cells: list[str], threshold: int, known: set[str]
) -> ColumnSummary:
    """Each distinct cell is judged once: tables repeat, and 5,000 rows hold few values."""
    counts: dict[str, int] = {}
    for cell in cells:
        counts[cell] = counts.get(cell, 0) + 1
    numbers: list[tuple[Number, int]] = []
    markers: dict[str, int] = {}
    empty = other = 0
    for cell, count in counts.items():
        value = cell.strip()
        if not value:
            empty += count
        elif value in known:
            markers[value] = markers.get(value, 0) + count
        elif (number := parse_number(value)) is not None:
            numbers.append((number, count))
        else:
            other += count
    column = ColumnSummary(name=name, numeric=bool(numbers) and not other)
    column.empty, column.markers = empty, markers
    if not column.numeric:
        return column
    values = [n for n, _ in numbers]
    positive = [n for n in values if n > 0]
    column.numbers = sum(c for _, c in numbers)
    column.minimum, column.maximum = min(values), max(values)
    column.minimum_above_zero = min(positive) if positive else None
    column.total = sum(n * c for n, c in numbers)
    column.under_threshold = sum(c for n, c in numbers if 0 < n <= threshold)
    whole = all(n == int(n) for n in values)
    column.rounded_to_5 = whole and all(int(n) % 5 == 0 for n in values)
    column.rounded_to_10 = whole and all(int(n) % 10 == 0 for n in values)
    column.midpoint_6 = all(is_midpoint_rounded(n, 6) for n in values)
    return column
