"""Make a disclosure-safe table of condition counts and rates by region.

Sums the monthly measures over the year, then applies statistical disclosure
control as a real study would before releasing a table: any count below the
suppression threshold is written as "[REDACTED]", and the remaining counts are
rounded to the nearest multiple of 5. Rates are computed from the rounded
counts, and a rate is redacted whenever either of its counts is.
"""

import argparse
import csv
import sys
from collections import Counter
from pathlib import Path

MEASURES = Path("output/measures_by_region.csv")
TABLE = Path("output/table_by_region.csv")
REDACTED = "[REDACTED]"


def round_to(count: int, base: int) -> int:
    """Round a non-negative count to the nearest multiple of base (halves round up)."""
    return (count + base // 2) // base * base


def protect(count: int, base: int, threshold: int) -> int | None:
    """The releasable value of a count, or None if it must be suppressed."""
    return None if count < threshold else round_to(count, base)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--round-to", type=int, default=5, help="round counts to this base")
    parser.add_argument("--suppress-below", type=int, default=7, help="redact smaller counts")
    args = parser.parse_args()

    if not MEASURES.exists():
        sys.exit(f"error: input {MEASURES} not found; run the derive_measures action first")

    print(f"reading {MEASURES}")
    population: Counter[str] = Counter()
    numerator: Counter[str] = Counter()
    with MEASURES.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            population[row["region"]] += int(row["population"])
            numerator[row["region"]] += int(row["numerator"])

    print(f"rounding to {args.round_to}, suppressing counts below {args.suppress_below}")
    redacted = 0
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    with TABLE.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["region", "population", "with_condition", "rate_per_1000"])
        for region in sorted(population):
            d = protect(population[region], args.round_to, args.suppress_below)
            n = protect(numerator[region], args.round_to, args.suppress_below)
            rate = f"{1000 * n / d:.1f}" if n is not None and d else REDACTED
            cells = [REDACTED if value is None else value for value in (d, n)]
            redacted += cells.count(REDACTED)
            writer.writerow([region, *cells, rate])
    print(f"wrote {TABLE} ({len(population)} regions, {redacted} counts redacted)")


if __name__ == "__main__":
    main()
