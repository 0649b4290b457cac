"""What every rule over a table shares: a finding's shape, its verdicts, and one reading of
the table's columns.

Its own module so the pre-release rules (`release_rules`), the rounding rules
(`rounding_rules`) and the summary (`table_summary`) can all read one table once, each
judging the same columns, without importing one another in a circle.
"""

from __future__ import annotations

import csv
import io
from enum import StrEnum
from itertools import islice, zip_longest
from typing import NamedTuple

from pydantic import Field

from .common import Model

MAX_CELLS_NAMED = 20  # a finding lists this many cells, then counts the rest
ROWS_AT_ONCE = 256  # rows of a table held at once (fewer than a young GC generation holds)


class Verdict(StrEnum):
    REFUSE = "refuse"  # the file cannot be asked for until it is fixed
    FLAG = "flag"  # the checkers see the finding beside the file


class Finding(Model):
    rule: str = Field(
        description="type, size, rows, forbidden_column, small_number, rounding, "
        "midpoint_rounding, suppression_marker, unreadable; differencing (the job server's, "
        "against the project's released tables)"
    )
    verdict: Verdict
    message: str
    cells: list[tuple[int, str]] = Field(
        default_factory=list, description="(data row from 1, column name) of the cells found."
    )


class Table(NamedTuple):
    """A table read once: its header, each column's cells (short rows padded with empty
    ones), its rows, and how many rows are wider or narrower than the header."""

    header: list[str]
    columns: list[list[str]]
    rows: int
    ragged: int


def read_table(text: str, delimiter: str) -> Table:
    """The table in a CSV (or TSV) text without a BOM; blank lines are no rows. Rows are read
    a few hundred at a time and dropped: all of them alive at once would reach the garbage
    collector's oldest generation and make it sweep the whole heap of the process, a pause
    of many times the check itself."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows = (row for row in reader if row)
    header = next(rows, [])
    width = len(header)
    columns: list[list[str]] = [[] for _ in header]
    count = ragged = 0
    while batch := list(islice(rows, ROWS_AT_ONCE)):
        count += len(batch)
        ragged += sum(1 for row in batch if len(row) != width)
        cells = list(zip_longest(*batch, fillvalue=""))
        for number, column in enumerate(columns):
            column.extend(cells[number] if number < len(cells) else [""] * len(batch))
    return Table(header, columns, count, ragged)


def _read_columns(text: str, delimiter: str) -> tuple[list[str], list[list[str]], int]:
    """The header, each column's cells and the number of rows (see `read_table`)."""
    header, columns, rows, _ = read_table(text, delimiter)
    return header, columns, rows
