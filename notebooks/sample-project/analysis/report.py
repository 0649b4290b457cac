"""Write a short Markdown report of the results, plus notes for reviewers.

Reads the disclosure-safe table and checks the chart exists, then writes
output/report.md and two text notes under output/notes/ (matched in
project.yaml by the glob pattern output/notes/*.txt).
"""

import csv
import sys
from pathlib import Path

TABLE = Path("output/table_by_region.csv")
PLOT = Path("output/plot_rates.svg")
REPORT = Path("output/report.md")
NOTES = Path("output/notes")
REDACTED = "[REDACTED]"

METHODS = """\
Methods
=======
Synthetic data for 1,000 patients were generated with a fixed random seed.
The condition rate per 1,000 patients was derived by region and month of visit
in 2023, then summed over the year for each region.
"""

DISCLOSURE = """\
Statistical disclosure control
==============================
Counts below 7 are redacted and written as "[REDACTED]".
Other counts are rounded to the nearest 5, and rates are computed from the
rounded counts. A rate is redacted whenever either of its counts is.
The chart uses monthly counts rounded to the nearest 5.
"""


def main() -> None:
    for path in (TABLE, PLOT):
        if not path.exists():
            sys.exit(f"error: input {path} not found; run the make_table and make_plot actions")

    print(f"reading {TABLE}")
    with TABLE.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    released = [row for row in rows if row["rate_per_1000"] != REDACTED]
    redacted = [row["region"] for row in rows if row not in released]

    lines = [
        "# Condition rates by region, 2023",
        "",
        "Sample OpenSAFELY-style study on synthetic data; the numbers mean nothing clinically.",
        "",
        "## Rates by region",
        "",
        "| Region | Population | With condition | Rate per 1,000 |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [
        f"| {r['region']} | {r['population']} | {r['with_condition']} | {r['rate_per_1000']} |"
        for r in rows
    ]
    lines.append("")
    if released:
        top = max(released, key=lambda r: float(r["rate_per_1000"]))
        lines.append(
            f"The highest released rate was in {top['region']}, "
            f"at {top['rate_per_1000']} per 1,000 patients."
        )
    if redacted:
        lines.append(f"Results were redacted for: {', '.join(redacted)}.")
    lines += [
        "",
        "## Monthly rate",
        "",
        f"![Monthly rate of the condition]({PLOT.name})",
        "",
        "See `notes/methods.txt` and `notes/disclosure_control.txt` for details.",
        "",
    ]

    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {REPORT}")

    NOTES.mkdir(parents=True, exist_ok=True)
    for name, body in (("methods.txt", METHODS), ("disclosure_control.txt", DISCLOSURE)):
        (NOTES / name).write_text(body, encoding="utf-8")
        print(f"wrote {NOTES / name}")


if __name__ == "__main__":
    main()
