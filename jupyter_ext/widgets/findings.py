"""The pre-release rules' findings, a file's shape, a table's summary and the released
tables it overlaps, as the widgets show them.

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


def _figure(value: float | None) -> str:
    if value is None:
        return "\N{EN DASH}"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.6g}"


def _rounded(column: schema.ColumnSummary) -> str:
    kinds = ["to 10"] if column.rounded_to_10 else ["to 5"] if column.rounded_to_5 else []
    kinds += ["midpoint 6"] if column.midpoint_6 else []
    return ", ".join(kinds) or "no"


def _markers(column: schema.ColumnSummary) -> str:
    shown = [
        f"{marker} \N{MULTIPLICATION SIGN} {count:,}" for marker, count in column.markers.items()
    ]
    return ", ".join(shown) or (f"{column.empty:,} empty" if column.empty else "none")


def summary_html(summary: schema.TableSummary | None, path: str = "the table") -> str:
    """A table's summary (made on its site) as a small table a screen reader can walk: a
    caption, header cells with their scope; text columns by name only."""
    if summary is None:
        return ""
    numeric = [c for c in summary.columns if c.numeric]
    text = [c.name for c in summary.columns if not c.numeric and not c.withheld]
    withheld = [c.name for c in summary.columns if c.withheld]
    rows = f"{summary.rows:,} row{'' if summary.rows == 1 else 's'}"
    parts = []
    if numeric:
        heads = ("Column", "Min", "Min > 0", "Max", "Sum", f"Cells 1\N{EN DASH}{summary.threshold}")
        head = "".join(f'<th scope="col">{html.escape(h)}</th>' for h in heads)
        head += '<th scope="col">Rounded</th><th scope="col">Markers</th>'
        body = "".join(
            f'<tr><th scope="row"><code>{html.escape(c.name)}</code></th>'
            + "".join(
                f"<td>{_figure(v)}</td>"
                for v in (c.minimum, c.minimum_above_zero, c.maximum, c.total)
            )
            + f"<td>{coloured(f'{c.under_threshold:,}', WARN) if c.under_threshold else 0}</td>"
            + f"<td>{_rounded(c)}</td><td>{html.escape(_markers(c))}</td></tr>"
            for c in numeric
        )
        parts.append(
            '<table class="jx-table-summary" style="border-collapse:collapse">'
            f"<caption style='text-align:left'>Summary of {html.escape(path)}, made on its "
            f"site: {rows}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )
    else:
        parts.append(f"Summary of {html.escape(path)}: {rows}, no numeric column.")
    if text:
        names = ", ".join(f"<code>{html.escape(n)}</code>" for n in text)
        parts.append(coloured("Text columns (not summarised): ", MUTED) + names)
    if withheld:
        names = ", ".join(f"<code>{html.escape(n)}</code>" for n in withheld)
        parts.append(coloured("Columns that identify people (no figures): ", MUTED) + names)
    return "<br>".join(parts)


def summary_text(summary: schema.TableSummary | None) -> str:
    """The summary on one line per numeric column, for the widgets' text()."""
    if summary is None:
        return ""
    lines = [
        f"{c.name}: min {_figure(c.minimum)}, min>0 {_figure(c.minimum_above_zero)}, max "
        f"{_figure(c.maximum)}, sum {_figure(c.total)}, {c.under_threshold} cells 1-"
        f"{summary.threshold}, rounded {_rounded(c)}, markers {_markers(c)}"
        for c in summary.columns
        if c.numeric
    ]
    text = [c.name for c in summary.columns if not c.numeric]
    if text:
        lines.append(f"text columns: {', '.join(text)}")
    return "; ".join(lines)


CELLS_SHOWN = 10  # flagged cells of an overlap named in words; the rest are counted


def _overlap_words(overlap: schema.Overlap) -> tuple[str, str]:
    """`Shares 4 rows with P (workspace W, release R)` and `2 cells differ by a small
    count: row 1, deaths; row 3, patients` (empty if none is flagged), as the panel says."""
    rows = f"{overlap.rows:,} row{'' if overlap.rows == 1 else 's'}"
    shares = (
        f"Shares {rows} with {overlap.path} "
        f"(workspace {overlap.workspace}, release {overlap.release})"
    )
    if not overlap.flagged:
        return shares, ""
    count = "1 cell differs" if overlap.flagged == 1 else f"{overlap.flagged:,} cells differ"
    shown = overlap.cells[:CELLS_SHOWN]
    if not shown:
        return shares, f"{count} by a small count"
    named = "; ".join(f"row {row}, {column}" for row, column in shown)
    more = overlap.flagged - len(shown)
    return shares, f"{count} by a small count: {named}" + (f" and {more:,} more" if more else "")


def overlaps_html(overlaps: Iterable[schema.Overlap], path: str = "the table") -> str:
    """The tables the project released that share rows with a file under review (found by
    the job server when its review copy came), as the release page lists them: a list
    labelled with the file, each table by its path, workspace and release, the flagged
    cells by row and column. Never a value: there are none in the data."""
    items = []
    for overlap in overlaps:
        shares, flagged = _overlap_words(overlap)
        cells = f"; {coloured(flagged, WARN)}" if flagged else ""
        items.append(f"<li>{html.escape(shares)}{cells}</li>")
    if not items:
        return ""
    label = html.escape(f"Released tables overlapping {path}", quote=True)
    return (
        '<div class="jx-overlaps"><b>Overlaps released tables</b>'
        f'<ul aria-label="{label}" style="margin:0">{"".join(items)}</ul></div>'
    )


def overlaps_text(overlaps: Iterable[schema.Overlap]) -> list[str]:
    """The overlaps, a line each, for the widgets' text()."""
    return [
        f"{shares}: {flagged}" if flagged else shares
        for shares, flagged in map(_overlap_words, overlaps)
    ]
