"""The pre-release rules' findings and a file's shape, as the widgets show them.

Plainly, one line per finding: refusals in red (the file cannot be asked for until fixed),
flags in amber (the checkers see them beside the file). Always escaped: a column name or a
path is data, never markup.
"""

from __future__ import annotations

import html
from collections.abc import Iterable

from .. import schema

ERROR = "var(--jp-error-color1, #d32f2f)"
WARN = "var(--jp-warn-color1, #f57c00)"
GOOD = "var(--jp-success-color1, #388e3c)"
MUTED = "var(--jp-ui-font-color2, #757575)"
COLOURS = {schema.Verdict.REFUSE: ERROR, schema.Verdict.FLAG: WARN}
WORDS = {schema.Verdict.REFUSE: "refused", schema.Verdict.FLAG: "flagged"}


def coloured(text: str, colour: str, bold: bool = False) -> str:
    weight = ";font-weight:600" if bold else ""
    return f'<span style="color:{colour}{weight}">{html.escape(text)}</span>'


def findings_html(findings: Iterable[schema.Finding], clean: str = "passes the rules") -> str:
    """Each finding on its line, coloured by its verdict; `clean` in green if there is none."""
    lines = [
        f"{coloured(WORDS[f.verdict], COLOURS[f.verdict], bold=True)} "
        f"{coloured(f.rule.replace('_', ' '), COLOURS[f.verdict])}: {html.escape(f.message)}"
        for f in findings
    ]
    return "<br>".join(lines) if lines else coloured(clean, GOOD)


def findings_text(findings: Iterable[schema.Finding], clean: str = "passes the rules") -> str:
    lines = [f"{WORDS[f.verdict]} {f.rule}: {f.message}" for f in findings]
    return "; ".join(lines) if lines else clean


def size_text(size: int) -> str:
    for unit in ("bytes", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size:,} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def shape_text(rows: int | None, columns: list[str] | None) -> str:
    """A table's rows and column names; nothing for a file that is not a table."""
    if rows is None and not columns:
        return ""
    names = ", ".join(columns or [])
    return f"{rows if rows is not None else '?'} rows, {len(columns or [])} columns: {names}"
