"""Read YAML text into plain Python values, fast, with positions for the problems in it.

The official parser reads `project.yaml` with ruamel's pure-Python round-trip
loader: YAML 1.2 scalars, duplicate keys rejected. We get the same values by
building them straight from libyaml's C event stream with a YAML 1.2 resolver,
many times faster. Positions cost nothing until a problem needs one: then
libyaml composes the node tree once and `locate()` walks it along a key path.

A repository is hostile until shown otherwise, so what a file may cost is
bounded before anything else reads it: its size, how deep its values nest,
and how much its aliases repeat (a "billion laughs" file is a few hundred
bytes that stand for gigabytes once printed or sent). A value that contains
itself through an alias is refused too: nothing downstream can print it.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    MappingEndEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .problems import Problem
from .yaml_fast import parse_block_yaml

try:  # libyaml ships in PyYAML's wheels; the pure-Python parser is a slow fallback
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)


__all__ = ["DuplicateKey", "YAMLDocument", "YAMLLimitError", "YAMLSyntaxError", "parse_yaml"]

MAX_CHARACTERS = 5_000_000  # the largest real project.yaml we know has about 1,000,000
MAX_DEPTH = 100  # the official parser itself crashes past about 240
MAX_ALIAS_EXPANSION = 1_000_000  # values and characters that aliases may repeat, in all

STR, NULL, BOOL, INT, FLOAT = (
    f"tag:yaml.org,2002:{t}" for t in ("str", "null", "bool", "int", "float")
)
TIMESTAMP, MERGE, SEQ, MAP = (
    f"tag:yaml.org,2002:{t}" for t in ("timestamp", "merge", "seq", "map")
)

# YAML 1.2 implicit types, as ruamel resolves them (first character -> candidates)
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_INT = re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$")
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_TIMESTAMP = re.compile(
    r"""^(?P<year>[0-9]{4})-(?P<month>[0-9]{1,2})-(?P<day>[0-9]{1,2})
    (?:[Tt]|[ \t]+)(?P<hour>[0-9]{1,2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})
    (?:\.(?P<fraction>[0-9]*))?
    (?:[ \t]*(?P<tz>Z|(?P<tz_sign>[-+])(?P<tz_hour>[0-9]{1,2})(?::(?P<tz_minute>[0-9]{2}))?))?$""",
    re.X,
)
_DIGITS = frozenset("-+0123456789")
_FLOAT_START = _DIGITS | {"."}


class YAMLSyntaxError(ValueError):
    """The text is not YAML; `line` and `column` are 1-based."""

    code = "yaml-syntax"
    lead = "not valid YAML: "

    def __init__(self, message: str, line: int | None, column: int | None) -> None:
        super().__init__(message)
        self.message, self.line, self.column = message, line, column

    def problem(self) -> Problem:
        return Problem(self.code, self.lead + self.message, (), self.line, self.column)


class YAMLLimitError(YAMLSyntaxError):
    """YAML, but too big, too deep or too repetitive to read safely."""

    code = "yaml-limit"
    lead = ""

    @classmethod
    def at(cls, message: str, mark: Any) -> YAMLLimitError:
        return cls(message, mark.line + 1, mark.column + 1)


@dataclass(frozen=True, slots=True)
class DuplicateKey:
    """A key given twice in one mapping: `path` is the mapping's, `key` the repeated one."""

    path: tuple[Any, ...]
    key: Any
    line: int
    column: int
    first_line: int


class YAMLDocument:
    """Parsed values, and positions in the text for the problems found in them.

    Top-level keys and their children's keys (the actions) are positioned while
    parsing; anything deeper composes libyaml's node tree once, on first need.
    """

    def __init__(
        self,
        text: str,
        data: Any,
        duplicates: list[DuplicateKey],
        key_marks: dict,
        value_marks: dict,
    ) -> None:
        self.text, self.data, self.duplicate_keys = text, data, duplicates
        self._marks = {True: key_marks, False: value_marks}
        self._root: Node | bool | None = False

    def key_line(self, path: tuple[Any, ...]) -> int | None:
        """The line of the key at `path` (one or two steps deep), without composing."""
        mark = self._marks[True].get(path)
        return mark[0] if mark else None

    def locate(self, path: tuple[Any, ...], *, key: bool = False) -> tuple[int, int] | None:
        if path in self._marks[key]:
            return self._marks[key][path]
        if self._root is False:
            self._root = compose(self.text)
        return locate_in(self._root, path, key=key)  # type: ignore[arg-type]


def _int(text: str) -> int:
    text = text.replace("_", "")
    sign = -1 if text[0] == "-" else 1
    text = text.lstrip("+-")
    for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
        if text.startswith(prefix):
            return sign * int(text[2:], base)
    return sign * int(text)


def _float(text: str) -> float:
    text = text.replace("_", "").lower()
    if text.endswith(".inf"):
        return -math.inf if text[0] == "-" else math.inf
    if text.endswith(".nan"):
        return math.nan
    return float(text)


def _timestamp(text: str) -> dt.date | dt.datetime:
    if _DATE.match(text):
        return dt.date.fromisoformat(text)
    m = _TIMESTAMP.match(text)
    assert m is not None
    date = dt.date(int(m["year"]), int(m["month"]), int(m["day"]))
    fraction = int((m["fraction"] or "0")[:6].ljust(6, "0"))
    tz = None
    if m["tz"] == "Z":
        tz = dt.UTC
    elif m["tz"]:
        offset = dt.timedelta(hours=int(m["tz_hour"]), minutes=int(m["tz_minute"] or 0))
        tz = dt.timezone(-offset if m["tz_sign"] == "-" else offset)
    return dt.datetime(
        date.year,
        date.month,
        date.day,
        int(m["hour"]),
        int(m["minute"]),
        int(m["second"]),
        fraction,
        tz,
    )


_SCALARS = {
    NULL: lambda v: None,
    BOOL: lambda v: v[0] in "tT",
    INT: _int,
    FLOAT: _float,
    TIMESTAMP: _timestamp,
}


def _scalar(event: ScalarEvent) -> Any:
    value, tag = event.value, event.tag
    if tag is None:
        if not event.implicit[0] or value[:1] not in _NOT_STR_START:
            return value  # quoted, or plain and cannot be anything but a string
        tag = _resolve(value)
    convert = _SCALARS.get(tag)
    return value if convert is None else convert(value)


def _resolve(value: str) -> str:
    """The YAML 1.2 type of a plain scalar, as ruamel resolves it."""
    first = value[:1]
    if first in _NULL_START:
        return NULL if _NULL.match(value) else STR
    if first in _BOOL_START:
        return BOOL if _BOOL.match(value) else STR
    if first in _NUMBER_START:
        if _INT.match(value):
            return INT
        if _FLOAT.match(value):
            return FLOAT
        if _DATE.match(value) or _TIMESTAMP.match(value):
            return TIMESTAMP
    elif value == "<<":
        return MERGE
    return STR


_NULL_START = frozenset("~nN") | {""}
_BOOL_START = frozenset("tTfF")
_NUMBER_START = frozenset(".-+0123456789")
_NOT_STR_START = _NULL_START | _BOOL_START | _NUMBER_START


class _Builder:
    """Builds dicts, lists and scalars straight from libyaml's events (no node tree)."""

    def __init__(self, parser: Any) -> None:
        self.next_event = parser.get_event
        self.anchors: dict[str, Any] = {}
        self.open: set[int] = set()  # ids of anchored collections still being read
        self.repeated = 0  # what aliases have repeated so far (see `weight`)
        self.weights: dict[int, int] = {}
        self.duplicates: list[DuplicateKey] = []
        self.key_marks: dict[tuple[Any, ...], tuple[int, int]] = {}
        self.value_marks: dict[tuple[Any, ...], tuple[int, int]] = {}

    def document(self) -> Any:
        """The single document's value (None for an empty stream)."""
        self.next_event()  # StreamStartEvent
        event = self.next_event()
        if type(event) is StreamEndEvent:
            return None
        data = self.value(self.next_event(), ())
        self.next_event()  # DocumentEndEvent
        event = self.next_event()
        if type(event) is not StreamEndEvent:
            raise yaml.composer.ComposerError(
                "expected a single document in the stream",
                None,
                "but found another document",
                event.start_mark,
            )
        return data

    def value(self, event: Any, path: tuple[Any, ...]) -> Any:
        kind = type(event)
        if kind is ScalarEvent:
            value = _scalar(event)
        elif kind is AliasEvent:
            return self.alias(event)
        else:
            value = [] if kind is SequenceStartEvent else {}
            # the path grows one step per level (a key or a merge's source too)
            if len(path) >= MAX_DEPTH:
                raise YAMLLimitError.at(
                    f"values nest more than {MAX_DEPTH} deep here: flatten the structure",
                    event.start_mark,
                )
            anchor = event.anchor
            if anchor is not None:
                self.anchors[anchor] = value
                self.open.add(id(value))
            if kind is SequenceStartEvent:
                self.sequence(value, path)
            else:
                self.mapping(value, path)
            if anchor is not None:
                self.open.discard(id(value))
            return value
        if event.anchor is not None:
            self.anchors[event.anchor] = value
        return value

    def alias(self, event: AliasEvent) -> Any:
        """The anchored value, shared; what it repeats counts toward the file's limit."""
        if event.anchor not in self.anchors:
            raise yaml.composer.ComposerError(
                None, None, f"found undefined alias {event.anchor!r}", event.start_mark
            )
        value = self.anchors[event.anchor]
        if id(value) in self.open:
            raise YAMLLimitError.at(
                f"the alias *{event.anchor} is inside the value &{event.anchor} names, so "
                "that value would contain itself: write the repeated part out",
                event.start_mark,
            )
        self.repeated += self.weight(value)
        if self.repeated > MAX_ALIAS_EXPANSION:
            raise YAMLLimitError.at(
                f"aliases repeat more than {MAX_ALIAS_EXPANSION:,} values and characters "
                "by here (the shape of a 'billion laughs' YAML bomb): write the repeated "
                "part out, or repeat it less",
                event.start_mark,
            )
        return value

    def weight(self, value: Any) -> int:
        """Values plus characters in `value` with every alias written out: roughly what
        printing it costs. Remembered per collection, so a bomb costs its own size."""
        kind = type(value)
        if kind is str:
            return 1 + len(value)
        if kind is not list and kind is not dict:
            return 1
        known = self.weights.get(id(value))
        if known is None:
            weigh = self.weight
            if kind is dict:
                known = 1 + sum(weigh(k) + weigh(v) for k, v in value.items())
            else:
                known = 1 + sum(map(weigh, value))
            self.weights[id(value)] = known
        return known

    def sequence(self, items: list[Any], path: tuple[Any, ...]) -> None:
        next_event, append = self.next_event, items.append
        while True:
            event = next_event()
            kind = type(event)
            if kind is ScalarEvent and event.anchor is None:
                append(_scalar(event))
            elif kind is SequenceEndEvent:
                return
            else:
                append(self.value(event, (*path, len(items))))

    def mapping(self, mapping: dict[Any, Any], path: tuple[Any, ...]) -> None:
        next_event = self.next_event
        lines: dict[Any, int] = {}
        merges: list[Any] = []
        while True:
            event = next_event()
            kind = type(event)
            if kind is MappingEndEvent:
                break
            mark = event.start_mark
            if kind is ScalarEvent and event.anchor is None:
                key = _scalar(event)
                if key == "<<" and event.implicit[0] and event.tag is None:
                    merges.append(self.value(next_event(), (*path, "<<")))
                    continue
            else:
                key = self.value(event, (*path, "?"))  # a step deeper, as its text is
            try:
                hash(key)
            except TypeError:
                key = repr(key)  # validation reports it as an unknown key
            event = next_event()
            if key in lines:
                self.duplicates.append(
                    DuplicateKey(path, key, mark.line + 1, mark.column + 1, lines[key])
                )
                self.value(event, path)
                continue
            lines[key] = mark.line + 1
            if len(path) < 2:
                self.key_marks[(*path, key)] = (mark.line + 1, mark.column + 1)
                value_mark = event.start_mark
                self.value_marks[(*path, key)] = (value_mark.line + 1, value_mark.column + 1)
            if type(event) is ScalarEvent and event.anchor is None:
                mapping[key] = _scalar(event)
            else:
                mapping[key] = self.value(event, (*path, key))
        if merges:
            _apply_merge(mapping, merges)


def _apply_merge(mapping: dict, sources: list[Any]) -> None:
    """`<<: *base` or `<<: [*a, *b]`: keys given explicitly win, earlier sources win."""
    flat: list[Any] = []
    for source in sources:
        flat.extend(source if isinstance(source, list) else [source])
    for source in flat:
        if isinstance(source, dict):
            for key, value in source.items():
                mapping.setdefault(key, value)


def plain_scalar(value: str) -> Any:
    """The YAML 1.2 value of an untagged plain scalar."""
    if value[:1] not in _NOT_STR_START:
        return value
    convert = _SCALARS.get(_resolve(value))
    return value if convert is None else convert(value)


def parse_yaml(text: str) -> YAMLDocument:
    """Parse one YAML document; raise `YAMLSyntaxError` with a position if it is not YAML,
    `YAMLLimitError` if it is more than the limits above allow."""
    if len(text) > MAX_CHARACTERS:
        line = text.count("\n", 0, MAX_CHARACTERS) + 1
        column = MAX_CHARACTERS - text.rfind("\n", 0, MAX_CHARACTERS)
        raise YAMLLimitError(
            f"the file is longer than the {MAX_CHARACTERS:,} characters allowed (it passes "
            "the limit here): shorten it",
            line,
            column,
        )
    fast = parse_block_yaml(text, plain_scalar, MAX_DEPTH)
    if fast is not None:
        return YAMLDocument(text, *fast[:1], [], *fast[1:])
    return parse_yaml_with_libyaml(text)


def parse_yaml_with_libyaml(text: str) -> YAMLDocument:
    """Any YAML, and the error messages for what is not YAML."""
    parser = _Parser(text)
    builder = _Builder(parser)
    try:
        data = builder.document()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem:
            problem = f"{problem} ({exc.context})"
        raise YAMLSyntaxError(
            problem, mark.line + 1 if mark else None, mark.column + 1 if mark else None
        ) from None
    except yaml.YAMLError as exc:
        raise YAMLSyntaxError(str(exc), None, None) from None
    except RecursionError:
        raise YAMLSyntaxError("nested too deeply", None, None) from None
    finally:
        parser.dispose()
    return YAMLDocument(text, data, builder.duplicates, builder.key_marks, builder.value_marks)


class _Composer(_Parser):
    """libyaml's composer, for the node tree that positions come from."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            return _resolve(value) if implicit[0] else STR
        return SEQ if kind is SequenceNode else MAP

    def descend_resolver(self, *args: Any) -> None:
        pass

    def ascend_resolver(self, *args: Any) -> None:
        pass


def compose(text: str) -> Node | None:
    composer = _Composer(text)
    try:
        return composer.get_single_node()
    finally:
        composer.dispose()


def locate_in(
    root: Node | None, path: tuple[Any, ...], *, key: bool = False
) -> tuple[int, int] | None:
    """The 1-based (line, column) of the value at `path`, or of its key when `key` is true.

    Follows the path as far as the document has it, so a missing key points at
    the mapping that should hold it.
    """
    node, key_node = root, None
    for step in path:
        if isinstance(node, MappingNode):
            found = _find_key(node, step)
            if found is None:
                break
            key_node, node = found
        elif isinstance(node, SequenceNode) and isinstance(step, int) and step < len(node.value):
            key_node, node = None, node.value[step]
        else:
            break
    target = key_node if key and key_node is not None else node
    if target is None:
        return None
    return target.start_mark.line + 1, target.start_mark.column + 1


def _find_key(node: MappingNode, step: Any) -> tuple[Node, Node] | None:
    for key_node, value_node in node.value:
        if isinstance(key_node, ScalarNode) and key_node.value in (step, str(step)):
            return key_node, value_node
    for key_node, value_node in node.value:  # merged keys live in the merge source
        if key_node.tag == MERGE:
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                if isinstance(source, MappingNode) and (found := _find_key(source, step)):
                    return found
    return None
