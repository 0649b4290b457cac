"""A backend's log policy: what of a job's log may leave the site.

`full` sends lines (after redaction), `status` sends none: only states and
status messages leave. Redaction replaces whatever matches one of the
patterns (secrets, identifiers) with `[redacted]` before a line is sent; the
site's copy of the log keeps the line as printed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

POLICIES = ("full", "status")


@dataclass
class LogPolicy:
    mode: str = "full"
    patterns: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.mode not in POLICIES:
            raise ValueError(f"log policy must be one of {', '.join(POLICIES)}, not {self.mode!r}")
        try:
            self._redact = re.compile("|".join(f"(?:{p})" for p in self.patterns))
        except re.error as exc:
            raise ValueError(f"a log redaction pattern is not valid: {exc}") from None

    @property
    def ships_lines(self) -> bool:
        return self.mode == "full"

    def redact(self, line: str) -> str:
        return self._redact.sub("[redacted]", line) if self.patterns else line
