"""Derive monthly condition rates by region from the patient-level dataset.

Writes output/measures_by_region.csv, one row per region and visit month with
the population, the number of patients with the condition (unrounded, so
highly sensitive) and the rate per 1,000, and output/measures_summary.json, a
short summary of the dataset's shape.
"""

import csv
import json
import sys
from collections import Counter
from pathlib import Path

DATASET = Path("output/dataset.csv")
MEASURES = Path("output/measures_by_region.csv")
SUMMARY = Path("output/measures_summary.json")


def rate_per_1000(numerator: int, denominator: int) -> str:
    return f"{1000 * numerator / denominator:.1f}" if denominator else ""


def main() -> None:
    if not DATASET.exists():
        sys.exit(f"error: input {DATASET} not found; run the generate_dataset action first")

    print(f"reading {DATASET}")
    with DATASET.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    print(f"read {len(rows)} patients")

    population: Counter[tuple[str, str]] = Counter()
    numerator: Counter[tuple[str, str]] = Counter()
    for row in rows:
        key = (row["region"], row["visit_month"])
        population[key] += 1
        numerator[key] += int(row["has_condition"])

    MEASURES.parent.mkdir(parents=True, exist_ok=True)
    with MEASURES.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["region", "month", "population", "numerator", "rate_per_1000"])
        for region, month in sorted(population):
            n, d = numerator[(region, month)], population[(region, month)]
            writer.writerow([region, month, d, n, rate_per_1000(n, d)])
    print(f"wrote {MEASURES} ({len(population)} region-month rows)")

    summary = {
        "months": sorted({month for _, month in population}),
        "regions": sorted({region for region, _ in population}),
        "region_month_cells": len(population),
        "source": str(DATASET),
    }
    SUMMARY.write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"wrote {SUMMARY}")


if __name__ == "__main__":
    main()
