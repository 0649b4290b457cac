"""Adding one action to project.yaml as a person would: every other line kept as it was.

The new entry is written out by ruamel.yaml (so a pattern such as `*.csv` is quoted as YAML
needs) at the indentation the file's actions already use, and put as text after the last
action: comments, blank lines, quoting and the order of keys elsewhere are untouched. The
result is read back with ruamel's round-trip loader and must hold exactly the old actions plus
the new one; a layout this cannot follow (actions written as a flow mapping, say) is re-written
by ruamel's round-trip dump instead, which keeps comments too. Pure: text in, text out.
"""

from __future__ import annotations

import difflib
import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError

NEW_PROJECT = 'version: "5"\n\nactions:\n'


class ProjectYamlError(ValueError):
    """project.yaml cannot take the action as it is; the message says what to change."""


def _yaml() -> YAML:
    yaml = YAML()  # round-trip: comments, quotes and order are kept
    yaml.preserve_quotes = True
    yaml.width = 4096  # a long command stays on one line
    return yaml


def _load(text: str) -> Any:
    try:
        return _yaml().load(text)
    except YAMLError as exc:
        raise ProjectYamlError(f"project.yaml is not valid YAML: fix it first ({exc})") from None


def _plain(value: Any) -> Any:
    """ruamel's commented containers as plain dicts and lists, to compare."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def add_action(text: str, name: str, entry: dict[str, Any]) -> str:
    """`text` with the action `name` added after the last action (a new file if `text` is
    empty); refused with a sentence if the file's shape cannot take it."""
    if not text.strip():
        text = NEW_PROJECT
    doc = _load(text)
    if not isinstance(doc, dict):
        raise ProjectYamlError("project.yaml is not a mapping of keys: it needs `actions:`")
    actions = doc.get("actions")
    if actions is None and "actions" not in doc:
        text = text + ("" if text.endswith("\n") else "\n") + "\nactions:\n"
        doc = _load(text)
        actions = doc.get("actions")
    if actions is None:
        actions = {}
    if not isinstance(actions, dict):
        raise ProjectYamlError("`actions` in project.yaml is not a mapping of actions")
    if name in actions:
        raise ProjectYamlError(f"project.yaml has an action {name} already: choose another name")
    expected = _plain(doc)
    expected["actions"] = {**_plain(actions), name: _plain(entry)}
    new = _insert_as_text(text, doc, name, entry)
    if new is None or not _holds(new, expected):
        new = _dumped(doc, name, entry)
    if not _holds(new, expected):  # ruamel would have lost something
        raise ProjectYamlError(
            "project.yaml is laid out in a way this cannot add to: add it by hand"
        )
    return new


def _holds(text: str, expected: Any) -> bool:
    try:
        return _plain(_load(text)) == expected
    except ProjectYamlError:
        return False


def _insert_as_text(text: str, doc: Any, name: str, entry: dict[str, Any]) -> str | None:
    """The entry as text after the last line of the `actions` block; None where the block is
    not a plain block mapping."""
    actions = doc["actions"]
    if actions is not None and (not isinstance(actions, CommentedMap) or actions.fa.flow_style()):
        return None
    lines = text.splitlines(keepends=True)
    start = doc.lc.key("actions")[0]
    keys = list(doc)
    after = keys[keys.index("actions") + 1 :]
    later = [doc.lc.key(k)[0] for k in after if doc.lc.key(k)[0] > start]
    end = min(later) if later else len(lines)
    while end > start + 1 and _outside(lines[end - 1]):
        end -= 1  # blank lines and top-level comments belong to what follows
    if actions:
        first = next(iter(actions))
        indent = actions.lc.key(first)[1]
        child = _child_indent(actions[first], indent)
        spaced = any(not lines[i].strip() for i in range(start + 1, end))
    else:
        indent, child, spaced = 2, 2, False
    block = _render(name, entry, child)
    block = "".join(" " * indent + line if line.strip() else line for line in block)
    head = "".join(lines[:end])
    if head and not head.endswith("\n"):
        head += "\n"
    return head + ("\n" if spaced else "") + block + "".join(lines[end:])


def _outside(line: str) -> bool:
    """A line after the actions that is not theirs: blank, or a comment at the left edge."""
    return not line.strip() or line.startswith("#")


def _child_indent(action: Any, indent: int) -> int:
    if isinstance(action, CommentedMap) and action and not action.fa.flow_style():
        return max(action.lc.key(next(iter(action)))[1] - indent, 1)
    return 2


def _commented(entry: dict[str, Any]) -> CommentedMap:
    """The entry as ruamel writes it: `needs` as a flow list (`[a, b]`), as people write it."""
    built = CommentedMap()
    for key, value in entry.items():
        if key == "needs":
            needs = CommentedSeq(value)
            needs.fa.set_flow_style()
            built[key] = needs
        else:
            built[key] = value
    return built


def _render(name: str, entry: dict[str, Any], child: int) -> list[str]:
    yaml = _yaml()
    yaml.indent(mapping=child, sequence=child + 2, offset=child)
    out = io.StringIO()
    yaml.dump(CommentedMap({name: _commented(entry)}), out)
    return out.getvalue().splitlines(keepends=True)


def _dumped(doc: Any, name: str, entry: dict[str, Any]) -> str:
    """The whole file by ruamel's round-trip dump, with the entry added (comments kept)."""
    if doc.get("actions") is None:
        doc["actions"] = CommentedMap()
    doc["actions"][name] = _commented(entry)
    out = io.StringIO()
    _yaml().dump(doc, out)
    return out.getvalue()


def unified_diff(old: str, new: str, path: str = "project.yaml") -> str:
    """The change as `git diff` shows it."""
    return "".join(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            new.splitlines(keepends=True),
            f"a/{path}",
            f"b/{path}",
        )
    )
