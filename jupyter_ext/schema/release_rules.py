"""The pre-release rules: what a file must pass before an output checker is asked to look.

They live in the wire format because three rooms must judge a file identically: the runner
(on the site, when a job ends and again before an upload), the job server (when a release is
requested) and the client (in the notebook, before asking). A backend's rules are its
runner's configuration; the runner reports them, the job server keeps and serves them.

A finding says where, never what: for a small number, the row and column of the cell, not
its value; for a table, its row count and column names, never its contents. A table is read
once, and from its columns come the rules' findings, the rounding rules' and its summary
(what a checker reads instead of the table: figures of numeric columns, no text cell).
"""

from __future__ import annotations

import codecs
import csv
import math
from pathlib import Path, PurePosixPath

from pydantic import Field

from .common import Model
from .rounding_rules import RoundingRules, rounding_findings
from .table_summary import DEFAULT_MARKERS, TableSummary, summarise_columns
from .tables import (  # noqa: F401 (their names here before they moved: importable as ever)
    MAX_CELLS_NAMED,
    ROWS_AT_ONCE,
    Finding,
    Table,
    Verdict,
    _read_columns,
    read_table,
)

DEFAULT_TYPES = (
    ".csv",
    ".tsv",
    ".txt",
    ".md",
    ".json",
    ".log",
    ".png",
    ".jpg",
    ".jpeg",
    ".svg",
    ".html",
    ".pdf",
)


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
    rounding: RoundingRules = Field(
        default_factory=RoundingRules,
        description="How counts must be rounded and suppressed cells marked; all off unless set.",
    )


class FileCheck(Model):
    path: str
    findings: list[Finding] = Field(default_factory=list)
    rows: int | None = Field(None, description="Data rows, for a table.")
    columns: list[str] | None = Field(None, description="Column names, for a table.")
    summary: TableSummary | None = Field(
        None, description="A CSV or TSV table's summary, made where the table is; no cell of it."
    )

    @property
    def refused(self) -> bool:
        return any(f.verdict is Verdict.REFUSE for f in self.findings)


def check_metadata(path: str, size: int, rules: ReleaseRules) -> list[Finding]:
    """The rules a file's name and size decide: what the job server can judge alone."""
    findings = []
    suffix = PurePosixPath(path).suffix.lower()
    allowed = {t.lower() for t in rules.allowed_types}
    if suffix not in allowed:
        findings.append(
            Finding(
                rule="type",
                verdict=Verdict.REFUSE,
                message=f"{suffix or 'a file without an ending'} may not be released from this "
                f"backend; allowed: {', '.join(sorted(allowed))}",
            )
        )
    if size > rules.max_size:
        findings.append(
            Finding(
                rule="size",
                verdict=Verdict.REFUSE,
                message=f"the file is {_mib(size)}, over the limit of {_mib(rules.max_size)}: "
                "release a smaller summary",
            )
        )
    return findings


def check_recorded(
    path: str, size: int, recorded: FileCheck | None, rules: ReleaseRules
) -> FileCheck:
    """A job's output judged where its bytes are out of reach (the job server, a workspace
    server): what the site found when the job ended, with what its name and size say under
    the backend's rules now. A site that never checked the content checks it on upload."""
    found = recorded.model_copy(deep=True) if recorded else FileCheck(path=path)
    kinds = {f.rule for f in found.findings}
    found.findings += [f for f in check_metadata(path, size, rules) if f.rule not in kinds]
    return found


def check_file(
    path: Path, rules: ReleaseRules, name: str | None = None, summary: bool = True
) -> FileCheck:
    """Every rule over one file on disk; `name` is its path in the workspace. A table's
    summary comes too unless `summary` is false (a check that needs the verdict alone)."""
    name = name or path.name
    size = path.stat().st_size
    result = FileCheck(path=name, findings=check_metadata(name, size, rules))
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in (".csv", ".tsv") and size <= rules.max_size:
        try:
            delimiter = "\t" if suffix == ".tsv" else ","
            _check_table(_read_text(path), delimiter, rules, result, summary)
        except (UnicodeDecodeError, OSError, csv.Error) as exc:
            result.findings.append(_unreadable(exc))
    return result


def _read_text(path: Path) -> str:
    """The file as UTF-8, without a byte order mark; a bad byte's place counts the mark."""
    data = path.read_bytes()
    skip = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[skip:].decode("utf-8")
    except UnicodeDecodeError as exc:
        exc.start += skip
        raise
    if "\x00" in text:  # no text holds it, and the wire format refuses it
        raise csv.Error("it holds NUL characters")
    return text


def _unreadable(exc: Exception) -> Finding:
    """Why a table could not be judged; a decoding error names the byte's place, not its value."""
    if isinstance(exc, UnicodeDecodeError):
        why = f"byte {exc.start + 1:,} is not UTF-8"
    else:
        why = str(exc) if isinstance(exc, csv.Error) else (exc.strerror or type(exc).__name__)
    return Finding(
        rule="unreadable",
        verdict=Verdict.REFUSE,
        message=f"the table cannot be read as UTF-8 CSV text ({why}): save it as UTF-8 CSV",
    )


def _check_table(
    text: str, delimiter: str, rules: ReleaseRules, result: FileCheck, summary: bool = True
) -> None:
    """The rules, the rounding rules and the summary, over one reading of the table."""
    table = read_table(text, delimiter)
    header, body, rows = table.header, table.columns, table.rows
    result.rows, result.columns = rows, header
    if rows > rules.max_csv_rows:
        result.findings.append(
            Finding(
                rule="rows",
                verdict=Verdict.REFUSE,
                message=f"the table has {rows:,} rows, over the limit of "
                f"{rules.max_csv_rows:,}: release an aggregate, not row-level data",
            )
        )
    forbidden = {c.strip().lower() for c in rules.forbidden_columns}
    for column in header:
        if column.strip().lower() in forbidden:
            result.findings.append(
                Finding(
                    rule="forbidden_column",
                    verdict=Verdict.REFUSE,
                    message=f"the column {column!r} identifies people: drop it before release",
                )
            )
    if rules.small_number_threshold > 0:
        _check_small_numbers(header, body, rules, result)
    result.findings += rounding_findings(table, rules.rounding)
    if summary:
        result.summary = summarise_columns(
            table, rules.small_number_threshold, markers_of(rules), rules.forbidden_columns
        )


def markers_of(rules: ReleaseRules) -> tuple[str, ...]:
    """The suppression markers a summary counts: the usual ones and the backend's own."""
    own = rules.rounding.suppression_marker
    return DEFAULT_MARKERS if own is None or own in DEFAULT_MARKERS else (*DEFAULT_MARKERS, own)


def _check_small_numbers(header, columns, rules: ReleaseRules, result: FileCheck) -> None:
    """Report cells of count columns from 1 to the threshold, by row and column only."""
    limit = rules.small_number_threshold
    small = [
        cell
        for column, cells in zip(header, columns, strict=True)
        for cell in _small_cells(column, cells, limit)
    ]
    if small:
        small.sort()
        more = f" and {len(small) - MAX_CELLS_NAMED} more" if len(small) > MAX_CELLS_NAMED else ""
        named = ", ".join(f"row {r} {c!r}" for r, c in small[:MAX_CELLS_NAMED])
        result.findings.append(
            Finding(
                rule="small_number",
                verdict=rules.small_numbers,
                cells=small[:MAX_CELLS_NAMED],
                message=f"{_counts(len(small))} from 1 to {limit} ({named}{more}): suppress or "
                "round them, then run the action again",
            )
        )


def _small_cells(column: str, cells: list[str], limit: int) -> list[tuple[int, str]]:
    """(row, column) of the column's small counts. A count column holds whole numbers and
    perhaps markers such as `[REDACTED]` or empty cells, but no fraction and no negative.

    Tables repeat, so each distinct cell is judged once, and a column stops being looked
    at with its first fraction (a rate column, at its first cell)."""
    width = len(str(limit))
    hits = set()
    for cell in set(cells):
        value = cell.strip()
        if value.isdecimal():  # int() reads only the few short enough to be small
            digits = value.lstrip("0")
            if digits and len(digits) <= width and int(digits) <= limit:
                hits.add(cell)
        elif _is_number(value):
            return []  # a fraction or a negative: not a count column
    if not hits:
        return []
    return [(number, column) for number, cell in enumerate(cells, 1) if cell in hits]


def _is_number(cell: str) -> bool:
    try:
        return math.isfinite(float(cell))  # "NaN" and "inf" are markers, not numbers
    except ValueError:
        return False


def _counts(number: int) -> str:
    return "1 count" if number == 1 else f"{number:,} counts"


def _mib(size: int) -> str:
    return f"{size / 1024 / 1024:.1f} MiB"
