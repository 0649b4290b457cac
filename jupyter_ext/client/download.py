"""Released files to disk: streamed, hashed on the way, kept only if the sha256 matches."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path, PurePosixPath

from .. import schema
from .errors import ChecksumMismatch, ClientError


def download_targets(
    item: schema.Release | schema.ReleaseFile, path: Path
) -> list[tuple[schema.ReleaseFile, Path]]:
    """Each released file to fetch, and where it goes."""
    if isinstance(item, schema.ReleaseFile):
        name = PurePosixPath(item.path).name
        return [(item, path / name if path.is_dir() else path)]
    if not isinstance(item, schema.Release):
        raise ClientError(f"download takes a Release or a ReleaseFile, not {type(item).__name__}")
    files = [f for f in item.files if f.state == "released"]
    if not files:
        raise ClientError(f"the release {item.id} has no released file yet ({item.state})")
    targets = []
    for file in files:
        target = path.joinpath(*PurePosixPath(file.path).parts)
        if ".." in PurePosixPath(file.path).parts or PurePosixPath(file.path).is_absolute():
            raise ClientError(f"{file.path!r} is not a path inside the release: not written")
        targets.append((file, target))
    return targets


class Sink:
    """A hidden file beside the target, hashed as bytes come; renamed into place if they match.

    `start()` begins (again, after a broken connection); `finish()` keeps or refuses it;
    `abort()` leaves nothing behind.
    """

    def __init__(self, file: schema.ReleaseFile, target: Path) -> None:
        self.file, self.target = file, target
        self._out = None
        self._partial: Path | None = None

    def start(self) -> None:
        self.abort()
        self.target.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(
            dir=self.target.parent, prefix=f".{self.target.name}.", suffix=".part"
        )
        self._out, self._partial = os.fdopen(fd, "wb"), Path(name)
        self._hash, self._size = hashlib.sha256(), 0

    def write(self, chunk: bytes) -> None:
        self._out.write(chunk)
        self._hash.update(chunk)
        self._size += len(chunk)

    def finish(self) -> Path:
        self._out.close()
        got = self._hash.hexdigest()
        if got != self.file.sha256 or self._size != self.file.size:
            self.abort()
            raise ChecksumMismatch(
                f"{self.file.path}: the job server sent {self._size} bytes with sha256 {got}, "
                f"not the {self.file.size} bytes with sha256 {self.file.sha256} that were "
                "released; nothing was kept"
            )
        os.replace(self._partial, self.target)
        self._partial = None
        return self.target

    def abort(self) -> None:
        if self._out is not None:
            self._out.close()
        if self._partial is not None:
            self._partial.unlink(missing_ok=True)
            self._partial = None
