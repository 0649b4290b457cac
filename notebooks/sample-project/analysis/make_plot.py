"""Plot the monthly condition rate as a hand-written SVG line chart.

Sums the measures over regions for each month, rounds the counts to the
nearest 5 (as for any released output), and draws the rate per 1,000 patients
with axes, tick labels, axis titles and a chart title. Uses no plotting
library: the SVG is built as text, so the file is the same on every run.
"""

import csv
import sys
from collections import Counter
from pathlib import Path
from xml.sax.saxutils import escape

MEASURES = Path("output/measures_by_region.csv")
PLOT = Path("output/plot_rates.svg")

WIDTH, HEIGHT = 640, 400
LEFT, RIGHT, TOP, BOTTOM = 70, 20, 50, 60
PAD = 20  # gap between the y axis and the first point, and after the last
MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def round5(count: int) -> int:
    return (count + 2) // 5 * 5


def monthly_rates() -> list[tuple[str, float]]:
    population: Counter[str] = Counter()
    numerator: Counter[str] = Counter()
    with MEASURES.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            population[row["month"]] += int(row["population"])
            numerator[row["month"]] += int(row["numerator"])
    return [
        (month, 1000 * round5(numerator[month]) / round5(population[month]))
        for month in sorted(population)
        if round5(population[month])
    ]


def text(x: float, y: float, label: str, **attrs: str) -> str:
    extra = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(label)}</text>'


def render(points: list[tuple[str, float]]) -> str:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    y_max = max(50.0, 50.0 * -(-max(rate for _, rate in points) // 50))
    step = (plot_w - 2 * PAD) / max(len(points) - 1, 1)

    def xy(i: int, rate: float) -> tuple[float, float]:
        return LEFT + PAD + i * step, TOP + plot_h * (1 - rate / y_max)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>',
        text(
            WIDTH / 2,
            28,
            "Monthly rate of the condition, 2023",
            text_anchor="middle",
            font_size="16",
            font_weight="bold",
        ),
    ]
    for tick in range(0, int(y_max) + 1, 25):
        _, y = xy(0, tick)
        parts.append(
            f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#dddddd"/>'
        )
        parts.append(text(LEFT - 8, y + 4, str(tick), text_anchor="end"))
    for i, (month, _) in enumerate(points):
        x, _ = xy(i, 0)
        parts.append(
            text(x, TOP + plot_h + 18, MONTH_NAMES[int(month[5:]) - 1], text_anchor="middle")
        )
    parts += [
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + plot_h}" stroke="black"/>',
        f'<line x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" y2="{TOP + plot_h}" '
        'stroke="black"/>',
        text(LEFT + plot_w / 2, HEIGHT - 15, "Month of visit (2023)", text_anchor="middle"),
        text(
            18,
            TOP + plot_h / 2,
            "Rate per 1,000 patients",
            text_anchor="middle",
            transform=f"rotate(-90 18 {TOP + plot_h / 2:.1f})",
        ),
    ]
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in (xy(i, r) for i, (_, r) in enumerate(points)))
    parts.append(f'<polyline points="{coords}" fill="none" stroke="#1f77b4" stroke-width="2"/>')
    for i, (month, rate) in enumerate(points):
        x, y = xy(i, rate)
        parts.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="#1f77b4">'
            f"<title>{month}: {rate:.1f} per 1,000</title></circle>"
        )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main() -> None:
    if not MEASURES.exists():
        sys.exit(f"error: input {MEASURES} not found; run the derive_measures action first")

    print(f"reading {MEASURES}")
    points = monthly_rates()
    if not points:
        sys.exit(f"error: {MEASURES} has no months to plot")
    print(f"plotting {len(points)} months")

    PLOT.parent.mkdir(parents=True, exist_ok=True)
    PLOT.write_text(render(points), encoding="utf-8")
    print(f"wrote {PLOT}")


if __name__ == "__main__":
    main()
