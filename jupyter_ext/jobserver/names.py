"""Names that become addresses and paths: each must be one safe path component.

Workspace names, organisation, project and backend slugs and dataset names are the wire
format's `Slug`: lower-case letters, digits and hyphens, so never `.`, `..`, a slash, a
backslash or anything a file system or an address reads specially. Job identifiers and job
request ids are made here (base32 and ULIDs), never chosen by a caller. This module says
the rule once, for the API's errors and for the admin command, which reads no wire format.
"""

from __future__ import annotations

import re

from ..schema.common import Slug

SLUG_PATTERN = next(m.pattern for m in Slug.__metadata__ if getattr(m, "pattern", None))
SLUG_RULE = (
    "use lower-case letters, digits and hyphens (1 to 64 of them, a letter or digit first "
    "and last): the name becomes part of addresses and paths"
)


def is_slug(name: str) -> bool:
    return re.fullmatch(SLUG_PATTERN, name) is not None


def slug_problem(name: str, what: str) -> str | None:
    """None if `name` may name a `what`; else the sentence that says what to change."""
    return None if is_slug(name) else f"{name!r} cannot name {what}: {SLUG_RULE}"
