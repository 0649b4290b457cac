"""Output patterns: which are well formed, and which produced files they match."""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath

from .models import PRIVACY_LEVELS, Outputs

# The file types that may be released (moderately sensitive outputs)
RELEASABLE_SUFFIXES = frozenset(
    {".csv", ".jpg", ".jpeg", ".png", ".svg", ".svgz", ".html", ".txt", ".log", ".json", ".md"}
)
METADATA_DIR = "metadata"
_WINDOWS_ABSOLUTE = re.compile(r"^[A-Za-z]:[/\\\\]")
_NOT_NORMAL = re.compile(r"(^|/)\.{1,2}(/|$)|//|/$|^$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


# Patterns that are certainly well formed: relative, normal, folders that are not
# `.`, `..` or metadata/, no wildcard but single *, a plain extension. Anything
# else takes the slow path, which says what is wrong.
_NAME = r"[^/\\?\[*\x00-\x1f\x7f-\x9f]*(?:\*[^/\\?\[*\x00-\x1f\x7f-\x9f]+)*\*?"  # no ** ? [ \\
_GOOD_PREFIX = (  # folders, then a file name whose last dot is not its first character
    rf"(?!metadata/)(?![A-Za-z]:/)(?:(?!\.\.?/)(?=[^/]){_NAME}/)*(?!\.[^./]*$)(?=[^/]){_NAME}\."
)
_GOOD = re.compile(_GOOD_PREFIX + r"[^./\\?\[*\x00-\x1f\x7f-\x9f]+")
_GOOD_RELEASABLE = re.compile(
    _GOOD_PREFIX + f"(?:{'|'.join(sorted(s[1:] for s in RELEASABLE_SUFFIXES))})"
)


def well_formed_pattern(privacy_level: str):
    """A fast test that is true only for patterns without problems at that level."""
    good = _GOOD_RELEASABLE if privacy_level == "moderately_sensitive" else _GOOD
    return good.fullmatch


def _suffix(pattern: str) -> str:
    """`PurePosixPath(pattern).suffix`, without building a path: this runs per output."""
    name = (
        PurePosixPath(pattern).name if _NOT_NORMAL.search(pattern) else pattern.rpartition("/")[2]
    )
    dot = name.rfind(".")
    return name[dot:] if 0 < dot < len(name) - 1 else ""


def pattern_problems(pattern: str, privacy_level: str) -> list[str]:
    """Why `pattern` cannot be an output pattern at `privacy_level`; empty if it can.

    The rules are the official tools' rules, each said as what to change.
    """
    if well_formed_pattern(privacy_level)(pattern):
        return []  # the common case, decided in one match
    problems = []
    if "\\" in pattern:
        problems.append("contains a back slash: use forward slashes (/) between folders")
    if control := _CONTROL.search(pattern):
        problems.append(f"contains the control character {control[0]!r}: remove it")
    for expr in ("**", "?", "["):
        if expr in pattern:
            problems.append(f"contains '{expr}': only the * wildcard is supported")
            break
    suffix = _suffix(pattern)
    if suffix == "" or suffix.endswith("*"):
        problems.append("must end with a file type extension, such as .csv")
    elif privacy_level == "moderately_sensitive" and suffix not in RELEASABLE_SUFFIXES:
        allowed = " ".join(sorted(RELEASABLE_SUFFIXES))
        problems.append(
            f"'{suffix}' files cannot be moderately_sensitive (releasable); use one of "
            f"{allowed}, or declare it highly_sensitive"
        )
    if pattern[:1] == "/" or _WINDOWS_ABSOLUTE.match(pattern):
        problems.append("is an absolute path: give a path relative to the repository")
    elif _NOT_NORMAL.search(pattern):
        if ".." in pattern.split("/"):
            problems.append("contains '..': outputs must stay inside the workspace")
        else:
            problems.append(
                f"is not in normal form (double slashes or './'): write "
                f"'{posixpath.normpath(pattern)}' instead"
            )
    if pattern == METADATA_DIR or pattern.startswith(METADATA_DIR + "/"):
        problems.append("is inside the metadata/ folder, which is kept for job records")
    return problems


@lru_cache(maxsize=4096)
def pattern_regex(pattern: str) -> re.Pattern[str]:
    """`*` matches within one path segment, as a shell glob does."""
    return re.compile("[^/]*".join(re.escape(part) for part in pattern.split("*")))


@dataclass
class OutputMatch:
    """The produced files sorted against the declared outputs of one action."""

    # path -> (privacy level, output name, pattern)
    matched: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    # (privacy level, output name, pattern) that matched no file
    missing: list[tuple[str, str, str]] = field(default_factory=list)
    # files no pattern declares: they stay on the site and are never released
    undeclared: list[str] = field(default_factory=list)

    def files_at(self, level: str) -> list[str]:
        return [path for path, (lvl, _, _) in self.matched.items() if lvl == level]


def match_outputs(outputs: Outputs, files: Iterable[str]) -> OutputMatch:
    """Sort produced files (relative POSIX paths) against declared patterns.

    A file that two patterns match takes the more sensitive level: when in
    doubt, a file stays on the site.
    """
    declared = list(outputs)
    rank = {level: i for i, level in enumerate(PRIVACY_LEVELS)}
    result = OutputMatch()
    hits: set[tuple[str, str, str]] = set()
    for path in sorted(files):
        best = None
        for output in declared:
            if pattern_regex(output[2]).fullmatch(path):
                hits.add(output)
                if best is None or rank[output[0]] < rank[best[0]]:
                    best = output
        if best is None:
            result.undeclared.append(path)
        else:
            result.matched[path] = best
    result.missing = [output for output in declared if output not in hits]
    return result
