"""A large, realistic pipeline for benchmarks and tests: layered actions with fan-in."""

from __future__ import annotations

import random


def generate_pipeline(actions: int = 2000, seed: int = 7) -> str:
    """project.yaml text with `actions` actions; each needs up to 3 earlier ones."""
    rng = random.Random(seed)
    lines = ['version: "5"', "", "actions:"]
    for i in range(actions):
        lines += [
            f"  step_{i:04d}:",
            f"    run: python:v2 analysis/step.py --index {i} --group {i % 17}",
        ]
        if i:
            needs = sorted({f"step_{rng.randrange(max(0, i - 50), i):04d}" for _ in range(3)})
            lines.append(f"    needs: [{', '.join(needs)}]")
        lines += [
            "    outputs:",
            "      highly_sensitive:",
            f"        data: output/step_{i:04d}/data.csv",
            "      moderately_sensitive:",
            f"        table: output/step_{i:04d}/table.csv",
            f"        log: output/step_{i:04d}/*.log",
        ]
    return "\n".join(lines) + "\n"
