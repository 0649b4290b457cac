"""Generate a synthetic patient-level dataset.

Stands in for the dataset definition of a real study: one row per patient with
demographics, a BMI measurement, whether the patient has the condition of
interest, and the month of their index visit in 2023.

The data are made up from a seeded random number generator, so every run with
the same --rows and --seed writes a byte-identical output/dataset.csv.
"""

import argparse
import csv
import random
from pathlib import Path

OUTPUT = Path("output/dataset.csv")

# Regions with relative population sizes; the small one shows disclosure
# control at work in make_table.
REGIONS = {
    "East": 12,
    "London": 16,
    "Midlands": 18,
    "North East and Yorkshire": 15,
    "North West": 13,
    "South East": 18,
    "South West": 3,
}
MONTHS = [f"2023-{month:02d}" for month in range(1, 13)]
COLUMNS = ["patient_id", "age", "sex", "region", "bmi", "has_condition", "visit_month"]


def make_patient(rng: random.Random, patient_id: int) -> dict[str, object]:
    """One synthetic patient; the condition is likelier with age and high BMI."""
    age = rng.randint(18, 95)
    sex = rng.choice(["F", "M"])
    region = rng.choices(list(REGIONS), weights=list(REGIONS.values()))[0]
    bmi = min(max(rng.gauss(27.0, 5.0), 15.0), 50.0)
    risk = 0.04 + 0.002 * (age - 18) + (0.08 if bmi >= 30 else 0.0)
    return {
        "patient_id": patient_id,
        "age": age,
        "sex": sex,
        "region": region,
        "bmi": f"{bmi:.1f}",
        "has_condition": int(rng.random() < risk),
        "visit_month": rng.choice(MONTHS),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1000, help="number of patients")
    parser.add_argument("--seed", type=int, default=20240101, help="random seed")
    args = parser.parse_args()

    print(f"generating {args.rows} synthetic patients (seed {args.seed})")
    rng = random.Random(args.seed)
    patients = [make_patient(rng, patient_id) for patient_id in range(1, args.rows + 1)]

    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    with OUTPUT.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(patients)

    with_condition = sum(p["has_condition"] for p in patients)
    print(f"{with_condition} of {len(patients)} patients have the condition")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
