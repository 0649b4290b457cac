"""Read YAML text into plain Python values, fast, with positions for the problems in it.

The official parser reads `project.yaml` with ruamel's pure-Python round-trip
loader: YAML 1.2 scalars, duplicate keys rejected. We get the same values many
times faster, in layers, each in its own module:

- `yaml_limits`: what a hostile file may cost (size, depth, alias expansion),
  and the errors that refuse a file;
- `yaml_scalars`: YAML 1.2 scalar typing, as ruamel does it;
- `yaml_fast`: a reader for the plain block YAML most files are, or it gives up;
- `yaml_builder`: values straight from libyaml's event stream, for the rest;
- `yaml_positions`: the `YAMLDocument` and where in the text a value is.

This module is the entry point, `parse_yaml()`, and still exports every name
that callers import from it.
"""

from __future__ import annotations

import yaml

from .yaml_builder import DuplicateKey, EventBuilder, EventParser
from .yaml_fast import parse_block_yaml
from .yaml_limits import (
    MAX_ALIAS_EXPANSION,
    MAX_CHARACTERS,
    MAX_DEPTH,
    YAMLLimitError,
    YAMLSyntaxError,
)
from .yaml_positions import YAMLDocument, compose, locate_in
from .yaml_scalars import plain_scalar

__all__ = [
    "MAX_ALIAS_EXPANSION",
    "MAX_CHARACTERS",
    "MAX_DEPTH",
    "DuplicateKey",
    "YAMLDocument",
    "YAMLLimitError",
    "YAMLSyntaxError",
    "compose",
    "locate_in",
    "parse_yaml",
    "parse_yaml_with_libyaml",
    "plain_scalar",
]


def parse_yaml(text: str) -> YAMLDocument:
    """Parse one YAML document; raise `YAMLSyntaxError` with a position if it is not YAML,
    `YAMLLimitError` if it is more than `yaml_limits` allows."""
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
    parser = EventParser(text)
    builder = EventBuilder(parser)
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
