"""Released bytes on the job server: stored by their hash, streamed out as a zip.

The same content is stored once and never changes; a zip is written as it is sent, so a
download of any size holds only a chunk of a file and the zip's headers in memory.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path, PurePosixPath

from . import orm


def entry_names(files: Iterable[orm.ReleaseFile]) -> dict[str, str]:
    """Each file's name in the zip: its path in the release, relative and without `..`.

    A path that two jobs' files share is put under each job's identifier.
    """
    clean = {
        f.id: "/".join(p for p in PurePosixPath(f.path).parts if p not in ("/", ".", ".."))
        for f in files
    }
    taken = list(clean.values())
    return {
        f.id: f"{f.job.identifier}/{clean[f.id]}" if taken.count(clean[f.id]) > 1 else clean[f.id]
        for f in files
    }


ZIP_CHUNK = 1 << 20  # read, written and sent a mebibyte at a time


class ZipSink:
    """A write-only stream for `zipfile.ZipFile` that keeps what is written until drained.

    It cannot seek, so the zip is written sequentially (sizes in data descriptors after each
    entry); `tell` gives the offsets for the central directory. `peak` is the most it held.
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._held = 0
        self._position = 0
        self.peak = 0

    def write(self, data) -> int:
        data = bytes(data)
        self._parts.append(data)
        self._held += len(data)
        self._position += len(data)
        self.peak = max(self.peak, self._held)
        return len(data)

    def tell(self) -> int:
        return self._position

    def flush(self) -> None:
        pass

    def drain(self) -> bytes:
        data = self._parts[0] if len(self._parts) == 1 else b"".join(self._parts)
        self._parts.clear()
        self._held = 0
        return data


def zip_stream(
    entries: Iterable[tuple[str, Path, tuple[int, ...]]],
    chunk: int = ZIP_CHUNK,
    sink: ZipSink | None = None,
) -> Iterator[bytes]:
    """The zip of `entries` (name, file, date_time), a chunk at a time: it never holds more
    than a chunk of a file and the zip's headers around it."""
    sink = sink or ZipSink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, path, date_time in entries:
            with path.open("rb") as source:
                info = zipfile.ZipInfo(name, date_time=date_time)
                info.file_size = path.stat().st_size  # sets zip64 for entries over 4 GB
                info.external_attr = 0o644 << 16
                with zf.open(info, "w") as target:
                    while block := source.read(chunk):
                        target.write(block)
                        if data := sink.drain():
                            yield data
            if data := sink.drain():
                yield data
    if data := sink.drain():
        yield data


def stored_path(release_dir: str, sha256: str) -> Path:
    """Released bytes live by their hash: the same content is stored once and never changes."""
    return Path(release_dir) / sha256[:2] / sha256
