"""Which files of a release wait for one output checker's vote, read from what the API shows.

The job server hides other checkers' votes until all have voted, so a file whose shown
reviews do not name the caller is one the caller has not voted on.
"""

from __future__ import annotations

from .. import schema

OPEN = frozenset({schema.FileState.REQUESTED, schema.FileState.IN_REVIEW})


def waiting_files(release: schema.Release, username: str) -> list[schema.ReleaseFile]:
    """The files of `release` that `username` may still vote on: open, not voted on by
    them, in a release they did not ask for (an author never reviews their own)."""
    if release.created_by == username:
        return []
    return [
        f
        for f in release.files
        if f.state in OPEN and all(r.reviewer != username for r in f.reviews)
    ]
