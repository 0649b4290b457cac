"""The demo's sites: a backend each, with its own folder, runner, synthetic dataset and, for
the two sites of the many-sites workshop, its own output checker.

`demo` is the one-site backend of the first workshop notebooks. `north` and `south` hold the
same kind of data (the same columns) about different patients, as two GP systems or two
hospitals would: the study runs at both, each site's checker reviews what leaves it, and the
pooled figure is made from the released counts alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Site:
    backend: str
    name: str
    rows: int  # patients in its synthetic dataset
    seed: int
    risk: float  # the share of its patients with the condition, roughly
    checker: str | None = None  # the login the site names its own output checker

    def home(self, folder: Path) -> Path:
        """The site's folder: its runner's token, work folder and data (the first site's are
        the demo folder's own, as before there were several)."""
        return folder if self.backend == "demo" else folder / "sites" / self.backend

    def token_file(self, folder: Path) -> Path:
        return self.home(folder) / "runner.token"

    def workdir(self, folder: Path) -> Path:
        return self.home(folder) / "site"

    def data_root(self, folder: Path) -> Path:
        return self.home(folder) / "datasets"


SITES = (
    Site("demo", "Demo backend", rows=1000, seed=20240101, risk=0.2),
    Site("north", "North site", rows=1200, seed=1101, risk=0.17, checker="north-checker"),
    Site("south", "South site", rows=900, seed=2303, risk=0.23, checker="south-checker"),
)
# every site asks what its workshop scripts do: counts rounded to 5, suppressed ones marked
RELEASE_RULES = {"rounding": {"multiple_of": 5, "suppression_marker": "[REDACTED]"}}
STUDY_SITES = [site.backend for site in SITES if site.checker]  # the many-sites workshop's
