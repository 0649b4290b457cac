"""The one line cutter: lines whatever the chunks, a long line kept to its limit and marked."""

from __future__ import annotations

import pytest

from jupyter_ext.runner.lines import LineCutter, cut_marker


def cut(chunks: list[bytes], max_bytes: int = 64 * 1024) -> list[str]:
    cutter = LineCutter(max_bytes)
    lines = [line for chunk in chunks for line in cutter.feed(chunk)]
    return lines + cutter.finish()


@pytest.mark.parametrize("size", [1, 2, 3, 5, 64])
def test_lines_are_the_same_however_the_output_is_chunked(size):
    output = "one\ntwo\n\nthree é ✓\nlast".encode()
    chunks = [output[i : i + size] for i in range(0, len(output), size)]
    assert cut(chunks) == ["one", "two", "", "three é ✓", "last"]


def test_a_long_line_keeps_its_start_and_says_how_much_was_dropped():
    lines = cut([b"a" * 7, b"b" * 5, b"\nnext\n"], max_bytes=10)
    assert lines == ["aaaaaaabbb" + cut_marker(2), "next"]


def test_a_cut_never_splits_a_character():
    lines = cut(["ab✓✓".encode() + b"\n"], max_bytes=4)  # ✓ is 3 bytes: keep 'ab' only
    assert lines == ["ab" + cut_marker(6)]


def test_a_last_line_without_newline_and_invalid_bytes():
    assert cut([b"ok\n\xff\xfeend"]) == ["ok", "\ufffd\ufffdend"]
    assert cut([b""]) == [] and cut([b"\n"]) == [""]
