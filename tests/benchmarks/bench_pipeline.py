"""Parse + validate + plan: ours against the official parser, side by side in one run.

    make bench        (or: .venv/bin/python tests/benchmarks/bench_pipeline.py)

Over every file of the shared corpus and a generated 2,000-action pipeline,
prints the median time per file, the largest file's time and the ratio.
Targets: at least 5x faster than the official parser on the corpus median,
and under 50 ms for the 2,000-action pipeline. The official parser only parses
and validates (planning lives in its job runner), so ours is timed doing more.
Figures are printed, never asserted: machines are noisy.
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent.parent), str(HERE)]

from generated import generate_pipeline  # noqa: E402

from jupyter_ext.pipeline import PipelineError, check_pipeline, plan_jobs  # noqa: E402

CORPUS = HERE.parent.parent.parent / "shared" / "corpus"

try:
    from opensafely._vendor.pipeline import load_pipeline as official_load
except ImportError:  # pragma: no cover
    official_load = None


def ours(text: str) -> None:
    pipeline, _, _ = check_pipeline(text)
    if pipeline is not None:
        with contextlib.suppress(PipelineError):
            plan_jobs(pipeline, ["run_all"])


def official(text: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # invalid files, and the crashes of the official parser
        with contextlib.suppress(Exception):
            official_load(text)


def best_of(func: Callable[[str], None], text: str, budget: float = 0.3, most: int = 15) -> float:
    """The median of repeated runs (at least 3, more while the budget lasts), in ms."""
    times: list[float] = []
    spent = 0.0
    while len(times) < 3 or (spent < budget and len(times) < most):
        start = time.perf_counter()
        func(text)
        elapsed = time.perf_counter() - start
        times.append(elapsed)
        spent += elapsed
    return statistics.median(times) * 1000


def row(label: str, mine: float, theirs: float | None) -> str:
    if theirs is None:
        return f"{label:<34} {mine:>10.2f} {'-':>14} {'-':>8}"
    return f"{label:<34} {mine:>10.2f} {theirs:>14.2f} {theirs / mine:>7.1f}x"


def main() -> None:
    files = sorted(CORPUS.glob("*.yaml"))
    if not files:
        sys.exit(f"no corpus at {CORPUS}")
    texts = {path.name: path.read_text() for path in files}
    ours_ms = {name: best_of(ours, text) for name, text in texts.items()}
    theirs_ms = (
        {name: best_of(official, text, budget=1.0, most=5) for name, text in texts.items()}
        if official_load
        else {}
    )
    largest = max(texts, key=lambda name: len(texts[name]))
    generated = generate_pipeline(2000)
    generated_ours = best_of(ours, generated, budget=2.0, most=30)
    generated_theirs = best_of(official, generated, budget=1.0, most=3) if official_load else None

    print(f"project.yaml: parse + validate (+ plan run_all, ours) over {len(files)} corpus files")
    print(f"{'':<34} {'ours (ms)':>10} {'official (ms)':>14} {'ratio':>8}")
    median_ours = statistics.median(ours_ms.values())
    median_theirs = statistics.median(theirs_ms.values()) if theirs_ms else None
    print(row("median per file", median_ours, median_theirs))
    ratios = [theirs_ms[n] / ours_ms[n] for n in texts] if theirs_ms else []
    if ratios:
        label = "median of per-file ratios"
        print(f"{label:<34} {'':>10} {'':>14} {statistics.median(ratios):>7.1f}x")
    size_kb = len(texts[largest].encode()) / 1024
    print(row(f"largest file ({size_kb:.0f} KB)", ours_ms[largest], theirs_ms.get(largest)))
    print(row("generated 2,000-action pipeline", generated_ours, generated_theirs))
    print()
    print("target: >= 5x on the corpus median; 2,000 actions under 50 ms")


if __name__ == "__main__":
    main()
