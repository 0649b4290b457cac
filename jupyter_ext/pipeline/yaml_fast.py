"""A fast path for the plain block YAML that project.yaml files are mostly written in.

libyaml through PyYAML spends most of its time making Python event objects.
Most project files use a small part of YAML: block mappings, `- ` lists of
scalars, one-line `[a, b]` lists, plain and simply quoted scalars, comments.
This reads exactly that part line by line, about twice as fast, and gives up
(returns None) at the first thing outside it: the caller then uses libyaml,
which also produces every error message. Whatever it does return equals what
the libyaml path returns; `tests/pipeline/test_yaml_fast.py` checks that on
the corpus and on generated documents.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

# What libyaml accepts as printable, less what this reader does not handle:
# tabs, carriage returns, Unicode line breaks, a byte order mark.
_UNHANDLED_CHARACTER = re.compile(
    "[^\x0a\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
# Each line: indent, then a `key:` and what follows, or `- ` and what follows, or text
_LINE = re.compile(r"^( *)(?:([A-Za-z0-9_][A-Za-z0-9_.\-]*)(:(?= |$) *)|(- ) *)?(.*)$", re.M)
_INDICATORS = frozenset("&*!|>{}%@`?[]-#,:'\"")
# first characters of plain scalars that can only be strings (YAML 1.2: not null,
# bool, number or date)
_LETTERS = frozenset("abcdeghijklmopqrsuvwxyzABCDEGHIJKLMOPQRSUVWXYZ_/")
_NOT_LAST = frozenset(" :")
_FLOW_ITEM_FORBIDDEN = re.compile(r"[\[\]{}'\"#&*!|>%@`:]")

Marks = dict[tuple[Any, ...], tuple[int, int]]


class _Unhandled(Exception):
    """Something this reader does not do: use libyaml."""


def parse_block_yaml(
    text: str, resolve: Callable[[str], Any], max_depth: int = 100
) -> tuple[dict[Any, Any], Marks, Marks] | None:
    """(data, key marks, value marks) of a plain block-YAML mapping, or None.

    `resolve` turns a plain scalar into its YAML 1.2 value. Marks are the
    1-based (line, column) of the keys and scalar values one or two levels deep.
    Collections nested more than `max_depth` deep are left to libyaml's path,
    which refuses them with a position.
    """
    if _UNHANDLED_CHARACTER.search(text):
        return None
    try:
        return _Reader(resolve, max_depth).read(text)
    except _Unhandled:
        return None


class _Reader:
    def __init__(self, resolve: Callable[[str], Any], max_depth: int) -> None:
        self.resolve = resolve
        self.max_depth = max_depth
        self.key_marks: Marks = {}
        self.value_marks: Marks = {}

    def read(self, text: str) -> tuple[dict[Any, Any], Marks, Marks]:
        root: dict[Any, Any] = {}
        # open collections: (indent, container, key path; deeper than 2, only its length)
        stack: list[tuple[int, Any, tuple[Any, ...]]] = [(0, root, ())]
        pending: tuple[int, dict[Any, Any], Any, tuple[Any, ...]] | None = None
        content = False
        for number, (spaces, key_text, colon, dash, rest) in enumerate(_LINE.findall(text), 1):
            if not key_text and not dash and (not rest or rest[0] == "#"):
                continue  # blank or comment line
            content = True
            indent = len(spaces)
            if pending is not None:  # a key with nothing after it: a block, or null
                parent_indent, parent, key, path = pending
                pending = None
                if indent > parent_indent or (indent == parent_indent and dash):
                    child: Any = [] if dash else {}
                    parent[key] = child
                    stack.append((indent, child, path))
                    if len(stack) > self.max_depth:
                        raise _Unhandled
            if indent != stack[-1][0]:
                while stack[-1][0] > indent:
                    stack.pop()
                if stack[-1][0] != indent:
                    raise _Unhandled  # a continuation line, or bad indentation
            _, top, path = stack[-1]
            if type(top) is list:
                if dash:
                    top.append(self.value(rest))
                    continue
                stack.pop()  # the end of a list indented as much as its key
                if not stack or stack[-1][0] != indent or type(stack[-1][1]) is not dict:
                    raise _Unhandled
                _, top, path = stack[-1]
            if not key_text or len(key_text) > 1000:  # (libyaml refuses keys over 1024)
                raise _Unhandled
            key = key_text if key_text[0] in _LETTERS else self.resolve(key_text)
            if key in top:
                raise _Unhandled  # duplicates are reported by the libyaml path
            shallow = len(path) < 2
            if shallow:
                self.key_marks[(*path, key)] = (number, indent + 1)
            if not rest or rest[0] == "#":
                top[key] = None
                pending = (indent, top, key, (*path, key) if shallow else path)
            else:
                if shallow:
                    column = indent + len(key_text) + len(colon) + 1
                    self.value_marks[(*path, key)] = (number, column)
                if (  # a plain one-word-or-more scalar, the usual value: read inline
                    rest[0] not in _INDICATORS
                    and rest[-1] not in _NOT_LAST
                    and " #" not in rest
                    and ": " not in rest
                ):
                    top[key] = rest if rest[0] in _LETTERS else self.resolve(rest)
                else:
                    top[key] = self.value(rest)
        if not content:
            raise _Unhandled  # an empty document is None, not {}
        return root, self.key_marks, self.value_marks

    def value(self, text: str) -> Any:
        """A one-line scalar or `[a, b]` list (text starts at its first character)."""
        first = text[:1]
        if first not in _INDICATORS and first:  # a plain scalar, the usual case
            comment = text.find(" #")
            if comment >= 0:
                text = text[:comment]
            text = text.rstrip(" ")
            if ": " in text or text[-1] == ":":
                raise _Unhandled
            return text if first in _LETTERS else self.resolve(text)
        if first == "[":
            end = text.find("]")
            self.tail(text, end)
            inner = text[1:end]
            if _FLOW_ITEM_FORBIDDEN.search(inner):
                raise _Unhandled
            if not inner.strip(" "):
                return []
            items = [item.strip(" ") for item in inner.split(",")]
            if "" in items or any(item[0] in _INDICATORS for item in items):
                raise _Unhandled
            return [self.resolve(item) for item in items]
        if first == '"' or first == "'":
            end = text.find(first, 1)
            self.tail(text, end)
            value = text[1:end]
            if first == '"' and "\\" in value:
                raise _Unhandled
            return value
        raise _Unhandled

    @staticmethod
    def tail(text: str, end: int) -> None:
        """After a closing quote or bracket, only spaces and a comment may follow."""
        if end < 0:
            raise _Unhandled  # it goes on over more lines
        rest = text[end + 1 :]
        if rest and not (rest[0] == " " and rest.lstrip(" ")[:1] in ("", "#")):
            raise _Unhandled
