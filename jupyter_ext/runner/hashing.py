"""sha256 of a file on the site, read in chunks (outputs can be large)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path, upto: int | None = None) -> str:
    """The hex sha256 of the file, or of its first `upto` bytes."""
    digest = hashlib.sha256()
    left = upto
    with Path(path).open("rb") as f:
        while chunk := f.read(1 << 20 if left is None else min(1 << 20, left)):
            digest.update(chunk)
            if left is not None:
                left -= len(chunk)
    return digest.hexdigest()
