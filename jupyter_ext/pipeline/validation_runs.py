"""Check an action's `run:` string: an image with a version tag, then a command.

Split like a shell would (`shlex`), with a fast path for the common string
without quotes; which images each version still allows is checked here too.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from .models import Run
from .validation_report import Reporter
from .versions import Features

__all__ = ["RunChecks", "split_run"]

VERSION_TAG = re.compile(r"^((v[\d.]+(-pre)?)|dev|latest)$")
_SHELL_SPECIAL = re.compile(r"""['"\\]""")
_SHELL_WORD = re.compile(r"[^ \t\r\n]+")


def split_run(raw: str) -> list[str]:
    """`shlex.split`, with a fast path for the common run string without quotes."""
    if _SHELL_SPECIAL.search(raw) is None:
        return _SHELL_WORD.findall(raw)
    return shlex.split(raw)


class RunChecks(Reporter):
    """The checks of one action's `run`."""

    def check_run(self, raw: Any, path: tuple, feats: Features | None) -> Run | None:
        if type(raw) is not str:
            self.expect(raw, str, path, "`run`")
            return None
        example = "python:v2 analysis/model.py"
        try:
            parts = split_run(raw)
        except ValueError as exc:
            self.error(
                "bad-run", f"`run` cannot be split into words ({exc}): close the quote", path
            )
            return None
        if not parts:
            self.error(
                "bad-run", f"`run` is empty: give an image and command, like `{example}`", path
            )
            return None
        image, _, version = parts[0].partition(":")
        if not VERSION_TAG.match(version):
            self.error(
                "bad-run",
                f"the image `{image}` needs a version, like `{image}:v2` (as in `{example}`)",
                path,
            )
            return None
        run = Run(raw, image, version, tuple(parts[1:]))
        if (
            feats is not None
            and feats.no_cohortextractor
            and parts[0].startswith("cohortextractor")
        ):
            self.error(
                "unsupported-image",
                "cohortextractor is not supported from version 4: use ehrql, or an older version",
                path,
            )
        if feats is not None and feats.no_latest_tag and version == "latest":
            self.error(
                "unsupported-image",
                f"`{parts[0]}` is not allowed from version 5: give a version, like `{image}:v2`",
                path,
            )
        return run
