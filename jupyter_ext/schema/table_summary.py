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

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable
from functools import partial
from itertools import repeat
from operator import contains, ge, lt, mul

from pydantic import Field

from .common import Model
from .tables import Table, read_table

DEFAULT_MARKERS = ("[REDACTED]", "REDACTED", "*", "<7", "<8", "[suppressed]")
_WHOLE = re.compile(r"[+-]?\d+")
FLOAT_DIGITS = 308  # a whole number of more digits may be too large for a float: text

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
    withheld: bool = Field(
        False, description="A column that identifies people: named only, its figures would be ids."
    )


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
    return summarise_columns(read_table(text, delimiter), threshold, markers)


def summarise_columns(
    table: Table,
    threshold: int = 7,
    markers: Iterable[str] = DEFAULT_MARKERS,
    withheld: Iterable[str] = (),
) -> TableSummary:
    """The summary of a table already read (`check_file` reads each table once). Rows whose
    width differs from the header's are counted: a sign the table was written by hand.
    Columns named in `withheld` (compared without case: the backend's forbidden columns) are
    named only, as the minimum of a column of patient ids would be a patient's id."""
    known = {m.strip() for m in markers}
    hidden = {name.strip().lower() for name in withheld}
    summary = TableSummary(rows=table.rows, threshold=threshold, ragged_rows=table.ragged)
    for name, cells in zip(table.header, table.columns, strict=True):
        if name.strip().lower() in hidden:
            summary.columns.append(ColumnSummary(name=name, numeric=False, withheld=True))
        else:
            summary.columns.append(_summarise_column(name, cells, threshold, known))
    return summary


def _summarise_column(
    name: str, cells: list[str], threshold: int, known: set[str]
) -> ColumnSummary:
    """Each distinct cell is judged once: tables repeat, and 5,000 rows hold few values. A
    plain count (digits only, short enough for a float) is read without more ado, and the
    first text that is no marker ends the judging: the column is text, named only."""
    distinct = set(cells)
    if len(distinct) * 4 >= len(cells) and (numbers := _plain_numbers(cells)) is not None:
        return _figures(ColumnSummary(name=name, numeric=True), numbers, threshold)
    judged: dict[str, Number] = {}
    others: list[str] = []  # empty cells and markers
    for cell in distinct:
        if cell.isdecimal() and len(cell) <= FLOAT_DIGITS:
            judged[cell] = int(cell)
            continue
        value = cell.strip()
        if not value or value in known:
            others.append(cell)
        elif (number := parse_number(value)) is not None:
            judged[cell] = number
        else:  # text: counted with list.count, no tally of every cell
            blanks = [c for c in distinct if _blank_or(c, known)]
            return _named(name, blanks, cells.count)
    if not judged:
        return _named(name, others, cells.count)
    counts = Counter(cells)
    column = _named(name, others, counts.__getitem__, numeric=True)
    values = list(judged.values())
    weights = [counts[cell] for cell in judged]
    column.numbers = sum(weights)
    column.minimum, column.maximum = min(values), max(values)
    column.minimum_above_zero = min((n for n in values if n > 0), default=None)
    column.total = _total(list(map(mul, values, weights)))
    pairs = zip(values, weights, strict=True)
    column.under_threshold = sum(c for n, c in pairs if 0 < n <= threshold)
    whole = all(type(n) is int or n.is_integer() for n in values)
    column.rounded_to_5 = whole and all(n % 5 == 0 for n in values)
    column.rounded_to_10 = whole and all(n % 10 == 0 for n in values)
    column.midpoint_6 = whole and all(is_midpoint_rounded(n, 6) for n in values)
    return column


def _total(numbers: list[Number]) -> Number:
    """Whole numbers add exactly; fractions with `fsum`, so 87.0 + 112.6 + ... is 812.1 as
    the table's author would add it, not 812.0999999999999."""
    total = sum(numbers)
    return total if isinstance(total, int) else math.fsum(numbers)


def _blank_or(cell: str, known: set[str]) -> bool:
    value = cell.strip()
    return not value or value in known


def _named(
    name: str, others: list[str], count: Callable[[str], int], numeric: bool = False
) -> ColumnSummary:
    """A column with its empty cells and markers counted (`others`: the distinct cells that
    are empty or a marker, each counted once by `count`)."""
    empty = 0
    markers: dict[str, int] = {}
    for cell in set(others):
        value = cell.strip()
        if value:
            markers[value] = markers.get(value, 0) + count(cell)
        else:
            empty += count(cell)
    return ColumnSummary(name=name, numeric=numeric, empty=empty, markers=markers)


def _plain_numbers(cells: list[str]) -> list[Number] | None:
    """The numbers of a column whose every cell is a plain count (digits only) or a plain
    fraction (with a point, finite), read in one go, when most cells differ; None for any
    other column, judged value by value. Populations and rates: the dearest columns of an
    aggregate table, as nearly every cell is a value of its own."""
    if not cells:
        return None
    if all(map(str.isdecimal, cells)) and max(map(len, cells)) <= FLOAT_DIGITS:
        return list(map(int, cells))
    if all(map(contains, cells, repeat("."))):  # so none is whole, "nan" or "inf"
        try:
            numbers = list(map(float, cells))
        except ValueError:
            return None
        return numbers if all(map(math.isfinite, numbers)) else None
    return None


def _figures(column: ColumnSummary, numbers: list[Number], threshold: int) -> ColumnSummary:
    """A numeric column's figures from all its numbers, repeats included: each a pass in C
    (no sort); the roundings over its distinct values, each stopping at its first miss."""
    positive = list(filter(partial(lt, 0), numbers))  # 0 < n
    column.numbers = len(numbers)
    column.minimum, column.maximum = min(numbers), max(numbers)
    column.minimum_above_zero = min(positive) if positive else None
    column.total = _total(numbers)
    column.under_threshold = sum(map(ge, repeat(threshold), positive))  # threshold >= n
    values = set(numbers)
    whole = all(type(n) is int or n.is_integer() for n in values)
    column.rounded_to_5 = whole and all(n % 5 == 0 for n in values)
    column.rounded_to_10 = whole and all(n % 10 == 0 for n in values)
    column.midpoint_6 = whole and all(is_midpoint_rounded(n, 6) for n in values)
    return column
