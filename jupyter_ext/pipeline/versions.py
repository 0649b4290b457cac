"""What each version of the project.yaml format allows, as the official tools decide."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .models import LATEST_VERSION


@dataclass(frozen=True, slots=True)
class Features:
    unique_output_paths: bool  # from 2: no output pattern declared twice
    expectations_required: bool  # exactly 3: `expectations.population_size` required
    no_cohortextractor: bool  # from 4: cohortextractor actions and `expectations` refused
    no_run_all_action: bool  # from 5: an action named run_all is refused
    no_latest_tag: bool  # from 5: `image:latest` is refused


def features(version: float) -> Features:
    return Features(
        unique_output_paths=version >= 2,
        expectations_required=version == 3,
        no_cohortextractor=version >= 4,
        no_run_all_action=version >= 5,
        no_latest_tag=version >= 5,
    )


def parse_version(value: Any) -> tuple[float | None, str | None]:
    """(version, None) or (None, what to change). Numbers and numeric strings count."""
    if value is None:
        return None, (
            f"the file needs a `version` (the format version it is written in); "
            f'use version: "{LATEST_VERSION}"'
        )
    try:
        version = float(value)
    except (TypeError, ValueError):
        return None, f'`version` must be a number between 1 and {LATEST_VERSION}, like "5"'
    if version > LATEST_VERSION or math.isinf(version):
        return None, (f"version {value} does not exist yet: the latest version is {LATEST_VERSION}")
    return version, None
