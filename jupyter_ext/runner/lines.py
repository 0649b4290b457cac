"""The one place a job's output bytes are cut into log lines (every executor's reader uses it).

A job chooses its output, so a line may be any length: here each byte is looked at once
(the cost is linear in the output, never in the square of a line's length) and a line
keeps at most `max_bytes` bytes; the rest of it is dropped, and a marker at its end says
how many bytes were. Memory is bounded by `max_bytes` whatever the job prints.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

MAX_LINE_BYTES = 64 * 1024


def cut_marker(dropped: int) -> str:
    return f" [line cut on the site: {dropped:,} more bytes dropped]"


class LineCutter:
    """Feed it output as it comes; it hands back the complete lines (without their newline)."""

    def __init__(self, max_bytes: int = MAX_LINE_BYTES) -> None:
        self.max_bytes = max(1, max_bytes)
        self.head = bytearray()  # the kept start of the line being read
        self.dropped = 0  # bytes of that line beyond `max_bytes`

    def feed(self, data: bytes) -> list[str]:
        lines = []
        view = memoryview(data)
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            self._take(view[start:end])
            lines.append(self._line())
            start = end + 1
        self._take(view[start:])
        return lines

    def finish(self) -> list[str]:
        """The last line, if the output did not end with a newline."""
        return [self._line()] if self.head or self.dropped else []

    def _take(self, part: memoryview) -> None:
        room = self.max_bytes - len(self.head)
        if room > 0:
            self.head += part[:room]
        self.dropped += max(0, len(part) - max(room, 0))

    def _line(self) -> str:
        end = len(self.head)
        if self.dropped:
            end = _whole_characters(self.head)
            self.dropped += len(self.head) - end
        text = self.head[:end].decode("utf-8", errors="replace")
        if self.dropped:
            text += cut_marker(self.dropped)
        self.head = bytearray()
        self.dropped = 0
        return text


def _whole_characters(data: bytearray) -> int:
    """Where `data` ends without the first bytes of a UTF-8 character cut in two."""
    end = len(data)
    lead = end - 1
    while lead >= 0 and end - lead <= 4 and data[lead] & 0xC0 == 0x80:
        lead -= 1
    if lead < 0 or data[lead] < 0xC0:
        return end
    size = 2 if data[lead] < 0xE0 else 3 if data[lead] < 0xF0 else 4
    return lead if end - lead < size else end


class Tail:
    """New complete lines of a file that grows, read a chunk at a time and cut by the one
    line cutter, so a huge line costs its length and no more (the Slurm executor's log)."""

    def __init__(self, path: Path, max_bytes: int = MAX_LINE_BYTES) -> None:
        self.path = path
        self.offset = 0
        self.cutter = LineCutter(max_bytes)

    def read(self, on_line: Callable[[str], None], final: bool = False) -> None:
        """Hand on the lines written since the last read; `final`: the last one too, even
        without its newline."""
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                while chunk := f.read(1 << 20):
                    self.offset += len(chunk)
                    for line in self.cutter.feed(chunk):
                        on_line(line)
        except FileNotFoundError:
            pass
        if final:
            for line in self.cutter.finish():
                on_line(line)
