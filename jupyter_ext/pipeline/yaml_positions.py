"""Where in the text a value is: positions for the problems found in a document.

Positions cost nothing until a problem needs one: the builder marks the first
two levels' keys as it goes, and anything deeper composes libyaml's node tree
once, on first need, and `locate_in()` walks it along a key path.
"""

from __future__ import annotations

from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .yaml_builder import DuplicateKey, EventParser
from .yaml_scalars import MAP, MERGE, SEQ, STR, resolve_tag

__all__ = ["YAMLDocument", "compose", "locate_in"]


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


class _Composer(EventParser):
    """libyaml's composer, for the node tree that positions come from."""

    def resolve(self, kind: type, value: Any, implicit: Any) -> str:
        if kind is ScalarNode:
            return resolve_tag(value) if implicit[0] else STR
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
