"""Names that become paths: the one rule for every name a repository or a caller chooses.

An action's name becomes a file name on the site (its provenance record, its
log), a `needs` entry names an action, an output's name labels files, a
dataset's and a workspace's name become folders. Each must be safe as ONE
path component on every file system the site uses: no separator, no `.` or
`..`, no hidden or option-like first character, no control character, and
short enough to leave room for a suffix within the 255 bytes a component may
have. The pipeline, the runner (`runner/paths.py`) and the job server all ask
`is_safe_name`, so the rule cannot drift between them.

Output names alone may also hold single spaces inside (real projects name
outputs `figure 1`); everything else about them is the same rule.
"""

from __future__ import annotations

import re

__all__ = [
    "MAX_NAME_LENGTH",
    "SAFE_NAME",
    "SAFE_NAME_RULE",
    "SAFE_OUTPUT_NAME",
    "is_safe_name",
    "is_safe_output_name",
    "safe_name_like",
    "shown",
]

MAX_NAME_LENGTH = 200
SAFE_NAME = re.compile(rf"[A-Za-z0-9_][A-Za-z0-9_.-]{{0,{MAX_NAME_LENGTH - 1}}}")
SAFE_OUTPUT_NAME = re.compile(
    rf"(?=.{{1,{MAX_NAME_LENGTH}}}\Z)[A-Za-z0-9_](?:[A-Za-z0-9_.-]| (?! |\Z))*", re.S
)
SAFE_NAME_RULE = (
    "use only the letters A-Z and a-z, digits, `_`, `-` and `.`, start with a letter, "
    f"a digit or `_`, and keep to {MAX_NAME_LENGTH} characters"
)
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9_.-]+")
_safe = SAFE_NAME.fullmatch


def is_safe_name(name: object) -> bool:
    """True for a string that is safe as one path component (see the module's rule)."""
    return type(name) is str and _safe(name) is not None


def is_safe_output_name(name: object) -> bool:
    """`is_safe_name`, and single spaces inside are allowed too."""
    return type(name) is str and (
        _safe(name) is not None or SAFE_OUTPUT_NAME.fullmatch(name) is not None
    )


def safe_name_like(name: str) -> str:
    """A safe name close to `name`, to suggest as the rename: `../../tmp/x` -> `tmp_x`."""
    words = [w.strip(".-") for w in _UNSAFE_RUN.split(name)]
    cleaned = "_".join(w for w in words if w)[:MAX_NAME_LENGTH].rstrip(".-")
    return cleaned or "renamed"


def shown(text: str, limit: int = 60) -> str:
    """`text` as a message may quote it: control and other unprintable characters
    escaped (so a name cannot drive the reader's terminal), and long text cut."""
    if not text.isprintable():
        text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    return text if len(text) <= limit else text[: limit - 1] + "…"
