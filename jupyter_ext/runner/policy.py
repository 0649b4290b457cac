"""A backend's log policy: what of a job's log (and of its other words) may leave the site.

`full` sends lines (with the site's patterns redacted), `redacted` sends lines with
numbers and identifiers masked as well, `status` sends none: only states and the
runner's own status messages leave. The site's setting (`c.RunnerApp.log_policy`) is a
floor the runner keeps whatever the job server says; when the job server says the
backend's policy is stricter (in each heartbeat's reply), the stricter of the two holds.
Until the job server has said, nothing that a job chose leaves (`known` is False).

Redaction (see `jupyter_ext.redaction`) cleans a line first (escapes, invisible
characters, NFKC) and matches in any case; the site's copy of the log keeps the line
as printed.
"""

from __future__ import annotations

from ..redaction import clean, compile_patterns, mask

POLICIES = ("full", "redacted", "status")  # each lets less leave than the one before


def stricter(one: str, other: str | None) -> str:
    if other not in POLICIES:  # the job server said nothing (or something unknown to us)
        return one
    return max(one, other, key=POLICIES.index)


class LogPolicy:
    def __init__(self, mode: str = "full", patterns: list[str] | None = None) -> None:
        if mode not in POLICIES:
            raise ValueError(f"log policy must be one of {', '.join(POLICIES)}, not {mode!r}")
        self.site_mode = mode
        self.patterns = list(patterns or [])
        self._patterns = compile_patterns(self.patterns)
        self.server_mode: str | None = None
        self.known = False  # whether the job server has said its policy for the backend

    def hear(self, server_mode: str | None) -> None:
        """What the job server says the backend's policy is (None: it does not say)."""
        self.server_mode = str(server_mode) if server_mode is not None else None
        self.known = True

    @property
    def mode(self) -> str:
        """The policy in force: the stricter of the site's and the job server's."""
        return stricter(self.site_mode, self.server_mode)

    @property
    def ships_lines(self) -> bool:
        return self.mode != "status"

    @property
    def sends_job_text(self) -> bool:
        """Whether text a job chose (log lines, its words in a status message) may leave, and
        with it anything about highly sensitive outputs (names, sizes, hashes): never on a
        `status` backend, nor before the job server has said the backend's policy."""
        return self.known and self.mode != "status"

    def redact(self, line: str) -> str:
        """The line as it may leave under the policy in force (not for `status`: nothing)."""
        masked = self.mode == "redacted"
        if not masked and self._patterns is None:
            return line
        line = clean(line)
        if self._patterns is not None:
            line = self._patterns.sub("[redacted]", line)
        return mask(line) if masked else line

    def __repr__(self) -> str:
        return f"LogPolicy(site={self.site_mode!r}, server={self.server_mode!r})"
