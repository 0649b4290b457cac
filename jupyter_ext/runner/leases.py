"""What the runner accepts of a lease: checked when it arrives, before anything is written.

The runner trusts no job server, not even its own: a lease is a list of names that will
become folders, files, command-line arguments and URLs on the site. Each name that becomes
a path must be one safe name (`paths.safe_name`), each output pattern a relative path that
does not climb out, the commit 40 hexadecimal digits, the repository something `git`
cannot read as an option or a command, and a notebook's parameters Python names with plain
JSON values of a bounded size; and what the action asks to run with (CPUs, memory, a time
limit) within the backend's maximums. A lease that fails is refused with a sentence
naming the field (never a path of the site), and the job fails without a file written.
"""

from __future__ import annotations

import re
import shlex

from .. import schema
from .notebooks import check_parameters_shape
from .paths import PathEscape, safe_name, safe_relative
from .resources import over_limits

IDENTIFIER = re.compile(r"[a-z0-9]{1,64}")  # as the job server makes them (base32, lower case)
COMMIT = re.compile(r"[0-9a-f]{40}")
LEVELS = frozenset(level.value for level in schema.PrivacyLevel)
MAX_PATTERN = 1000


class LeaseRefused(Exception):
    """The lease is not one the runner will act on; the message says which field, and why."""


def check_lease(lease: schema.Lease, limits: schema.ResourceLimits | None = None) -> None:
    """Raise LeaseRefused if any field of the lease could lead the runner astray, or if it
    asks for more than `limits` (the executor's) allow."""
    try:
        _check(lease)
    except PathEscape as exc:
        raise LeaseRefused(str(exc)) from None
    if limits is not None and (too_much := over_limits(limits, lease.resources)):
        raise LeaseRefused(too_much)


def _check(lease: schema.Lease) -> None:
    if IDENTIFIER.fullmatch(lease.identifier) is None:
        raise PathEscape("the job's identifier is not lower-case letters and digits")
    safe_name(lease.job_request, "the job request")
    safe_name(lease.workspace, "the workspace")
    safe_name(lease.action, "the action")
    for need in [*lease.needs, *lease.wait_for]:
        safe_name(need, "a needed action")
    for dataset in lease.datasets:
        safe_name(dataset.name, "the dataset")
    if COMMIT.fullmatch(lease.sha) is None:
        raise PathEscape(f"the commit {_short(lease.sha)} is not 40 hexadecimal digits")
    _check_repo(lease.repo)
    _check_run(lease.run)
    check_parameters_shape(lease.parameters)
    for level, named in lease.outputs.items():
        if level not in LEVELS:
            raise PathEscape(f"{_short(level)} is not a privacy level of outputs")
        for name, pattern in named.items():
            if len(pattern) > MAX_PATTERN:
                too_long = f"has a pattern over {MAX_PATTERN} characters"
                raise PathEscape(f"the output {_short(name)} {too_long}")
            safe_relative(pattern, f"the output {_short(name)}'s path")


def _check_repo(repo: str) -> None:
    """Something git reads as a repository: not an option, not a command (`ext::`), one
    line of printable text."""
    if not repo or repo.startswith("-"):
        raise PathEscape("the repository is empty or reads as an option of git")
    if "::" in repo.split("/", 1)[0] or not repo.isprintable() or any(c.isspace() for c in repo):
        raise PathEscape("the repository is not a URL git may clone from")


def _check_run(run: str) -> None:
    try:
        words = shlex.split(run)
    except ValueError:
        words = []
    if not words:
        raise PathEscape("the action's command cannot be read")


def _short(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."
