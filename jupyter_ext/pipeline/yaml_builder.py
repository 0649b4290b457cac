"""Build plain Python values straight from libyaml's C event stream.

The official parser's ruamel round-trip loader builds a node tree, then the
values; skipping the tree (and typing scalars by YAML 1.2, `yaml_scalars.py`)
gives the same values many times faster. The limits of `yaml_limits.py` are
enforced here, while the values are built, so a hostile file stops early.
Duplicate keys are collected, not refused, so validation reports them all;
the first two levels' keys are positioned on the way (the rest on demand).
"""

from __future__ import annotations

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

from .yaml_limits import MAX_ALIAS_EXPANSION, MAX_DEPTH, YAMLLimitError
from .yaml_scalars import scalar_value

try:  # libyaml ships in PyYAML's wheels; the pure-Python parser is a slow fallback
    from yaml._yaml import CParser as EventParser
except ImportError:  # pragma: no cover
    from yaml.composer import Composer
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class EventParser(Reader, Scanner, Parser, Composer):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)


__all__ = ["DuplicateKey", "EventBuilder", "EventParser"]


@dataclass(frozen=True, slots=True)
class DuplicateKey:
    """A key given twice in one mapping: `path` is the mapping's, `key` the repeated one."""

    path: tuple[Any, ...]
    key: Any
    line: int
    column: int
    first_line: int


class EventBuilder:
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
            value = scalar_value(event)
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
                append(scalar_value(event))
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
                key = scalar_value(event)
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
                mapping[key] = scalar_value(event)
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
