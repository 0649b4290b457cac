"""The pre-release rules: what a file must pass before an output checker is asked to look.

They live in the wire format because three rooms must judge a file identically: the runner
(on the site, when a job ends and again before an upload), the job server (when a release is
requested) and the client (in the notebook, before asking). A backend's rules are its
runner's configuration; the runner reports them, the job server keeps and serves them.

A finding says where, never what: for a small number, the row and column of the cell, not
its value; for a table, its row count and column names, never its contents.
"""

from __future__ import annotations

import csv
import io
import math
from itertools import zip_longest
from enum import StrEnum
from pathlib import Path, PurePosixPath

from pydantic import Field

from .common import Model

DEFAULT_TYPES = (".csv", ".tsv", ".txt", ".md", ".json", ".log", ".png", ".jpg", ".jpeg",
                 ".svg", ".html", ".pdf")  # fmt: skip
MAX_CELLS_NAMED = 20  # a finding lists this many cells, then counts the rest


class Verdict(StrEnum):
    REFUSE = "refuse"  # the file cannot be asked for until it is fixed
    FLAG = "flag"  # the checkers see the finding beside the file


class ReleaseRules(Model):
    """A backend's rules. Every limit is configurable; the defaults are the usual ones."""

    allowed_types: list[str] = Field(
        default_factory=lambda: list(DEFAULT_TYPES),
        description="File name endings that may be released, with their dot.",
    )
    max_size: int = Field(16 * 1024 * 1024, ge=0, description="Bytes.")
    max_csv_rows: int = Field(5_000, ge=0, description="Data rows of a CSV or TSV file.")
    forbidden_columns: list[str] = Field(
        default_factory=lambda: ["patient_id"],
        description="Column names (compared without case) that identify people.",
    )
    small_number_threshold: int = Field(
        7, ge=0, description="Counts from 1 up to this number are reported; 0 turns it off."
    )
    small_numbers: Verdict = Field(
        Verdict.REFUSE, description="What a small count does: refuse the file, or flag it."
    )


class Finding(Model):
    rule: str = Field(description="type, size, rows, forbidden_column, small_number, unreadable")
    verdict: Verdict
    message: str
    cells: list[tuple[int, str]] = Field(
        default_factory=list, description="(data row from 1, column name) of small counts."
    )


class FileCheck(Model):
    path: str
    findings: list[Finding] = Field(default_factory=list)
    rows: int | None = Field(None, description="Data rows, for a table.")
    columns: list[str] | None = Field(None, description="Column names, for a table.")

    @property
    def refused(self) -> bool:
        return any(f.verdict is Verdict.REFUSE for f in self.findings)


def check_metadata(path: str, size: int, rules: ReleaseRules) -> list[Finding]:
    """The rules a file's name and size decide: what the job server can judge alone."""
    findings = []
    suffix = PurePosixPath(path).suffix.lower()
    allowed = {t.lower() for t in rules.allowed_types}
    if suffix not in allowed:
        findings.append(Finding(
            rule="type", verdict=Verdict.REFUSE,
            message=f"{suffix or 'a file without an ending'} may not be released from this "
            f"backend; allowed: {', '.join(sorted(allowed))}",
        ))  # fmt: skip
    if size > rules.max_size:
        findings.append(Finding(
            rule="size", verdict=Verdict.REFUSE,
            message=f"the file is {_mib(size)}, over the limit of {_mib(rules.max_size)}: "
            "release a smaller summary",
        ))  # fmt: skip
    return findings


def check_file(path: Path, rules: ReleaseRules, name: str | None = None) -> FileCheck:
    """Every rule over one file on disk; `name` is its path in the workspace."""
    name = name or path.name
    size = path.stat().st_size
    result = FileCheck(path=name, findings=check_metadata(name, size, rules))
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in (".csv", ".tsv") and size <= rules.max_size:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (UnicodeDecodeError, OSError) as exc:
            result.findings.append(Finding(
                rule="unreadable", verdict=Verdict.REFUSE,
                message=f"the table cannot be read as UTF-8 text ({exc}): save it as UTF-8",
            ))  # fmt: skip
            return result
        _check_table(text, "\t" if suffix == ".tsv" else ",", rules, result)
    return result


def _check_table(text: str, delimiter: str, rules: ReleaseRules, result: FileCheck) -> None:
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    header, body = (rows[0], rows[1:]) if rows else ([], [])
    result.rows, result.columns = len(body), header
    if len(body) > rules.max_csv_rows:
        result.findings.append(Finding(
            rule="rows", verdict=Verdict.REFUSE,
            message=f"the table has {len(body):,} rows, over the limit of "
            f"{rules.max_csv_rows:,}: release an aggregate, not row-level data",
        ))  # fmt: skip
    forbidden = {c.lower() for c in rules.forbidden_columns}
    for column in header:
        if column.strip().lower() in forbidden:
            result.findings.append(Finding(
                rule="forbidden_column", verdict=Verdict.REFUSE,
                message=f"the column {column!r} identifies people: drop it before release",
            ))  # fmt: skip
    if rules.small_number_threshold > 0:
        _check_small_numbers(header, body, rules, result)


def _check_small_numbers(header, body, rules: ReleaseRules, result: FileCheck) -> None:
    """Report cells of count columns from 1 to the threshold. A count column holds whole
    numbers and perhaps markers such as `[REDACTED]` or empty cells, but no fractions."""
    limit = rules.small_number_threshold
    small: list[tuple[int, str]] = []
    columns = zip_longest(*body, fillvalue="") if body else ()
    for column, cells in zip(header, columns, strict=False):
        values = {cell.strip() for cell in set(cells)}  # tables repeat: judge each value once
        if any(not v.isdigit() and _is_number(v) for v in values):
            continue  # a fraction or a negative: not a count column
        flagged = {v for v in values if v.isdigit() and 0 < int(v) <= limit}
        if flagged:
            small.extend(
                (number, column) for number, cell in enumerate(cells, 1) if cell.strip() in flagged
            )
    if small:
        small.sort()
        more = f" and {len(small) - MAX_CELLS_NAMED} more" if len(small) > MAX_CELLS_NAMED else ""
        named = ", ".join(f"row {r} {c!r}" for r, c in small[:MAX_CELLS_NAMED])
        result.findings.append(Finding(
            rule="small_number", verdict=rules.small_numbers, cells=small[:MAX_CELLS_NAMED],
            message=f"{len(small)} counts from 1 to {limit} ({named}{more}): suppress or "
            "round them, then run the action again",
        ))  # fmt: skip


def _is_number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))  # "NaN" and "inf" are markers, not numbers
    except ValueError:
        return False


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"
