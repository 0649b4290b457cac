"""Our YAML reading gives the values ruamel's round-trip loader (the official one) gives."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from jupyter_ext.pipeline.yaml_loader import YAMLSyntaxError, parse_yaml

ruyaml = pytest.importorskip("opensafely._vendor.ruyaml")

SCALARS = [
    "plain",
    "'quoted'",
    '"double"',
    "3",
    "3.0",
    "-2",
    "+7",
    "0o17",
    "017",
    "0x1F",
    "0b101",
    "1_000",
    "1e3",
    "1.5e-3",
    ".5",
    ".inf",
    "-.inf",
    ".nan",
    "true",
    "False",
    "TRUE",
    "yes",
    "no",
    "on",
    "off",
    "y",
    "null",
    "~",
    "Null",
    "",
    "2020-01-02",
    "2020-01-02 03:04:05",
    "2020-01-02T03:04:05Z",
    "2020-1-2",
    "1:20",
    "v2",
    "python:v2",
    "a b",
    "'3'",
    "!!str 3",
    "!!int '3'",
    "<<x",
]


def official_load(text: str):
    return ruyaml.YAML(typ=["safe", "rt"], pure=True).load(text)


def kind(value) -> str:
    """The plain Python type ruamel's subclasses stand for."""
    for base in (bool, int, float, str, dt.datetime, dt.date, type(None)):
        if isinstance(value, base):
            return base.__name__
    return type(value).__name__


def same(ours, theirs) -> bool:
    if kind(ours) != kind(theirs):
        return False
    if isinstance(ours, float) and math.isnan(ours):
        return math.isnan(theirs)
    if isinstance(ours, dt.datetime):  # ruamel keeps the time naive and the offset aside
        return ours.replace(tzinfo=None) - (ours.utcoffset() or dt.timedelta()) == theirs
    return ours == theirs


@pytest.mark.parametrize("scalar", SCALARS)
def test_scalars_resolve_as_yaml_1_2_does(scalar):
    text = f"key: {scalar}\n"
    ours = parse_yaml(text).data["key"]
    theirs = official_load(text)["key"]
    assert same(ours, theirs), (ours, theirs)


def test_structures_anchors_and_merges():
    text = """
base: &base {run: a, needs: [x]}
list: &items [1, 2]
actions:
  one:
    <<: *base
    run: b
  two:
    <<: [*base, {config: {k: v}}]
  three: *items
"""
    assert parse_yaml(text).data == official_load(text)


def test_duplicate_keys_are_recorded_not_kept():
    doc = parse_yaml("a: 1\nb:\n  c: 1\n  c: 2\na: 3\n")
    assert doc.data == {"a": 1, "b": {"c": 1}}
    assert [(d.path, d.key, d.line, d.first_line) for d in doc.duplicate_keys] == [
        (("b",), "c", 4, 3),
        ((), "a", 5, 1),
    ]


@pytest.mark.parametrize(
    "text",
    ["a: [1, 2\n", "a:\n\tb: 1\n", "a: 1\n---\nb: 2\n", "a: *missing\n", "a: 'open\n", "a: b: c\n"],
)
def test_what_is_not_yaml_is_refused_with_a_position(text):
    with pytest.raises(YAMLSyntaxError) as info:
        parse_yaml(text)
    assert info.value.line is not None
    with pytest.raises(Exception):  # noqa: B017 - the official loader refuses it too
        official_load(text)


def test_locate_finds_keys_and_values_deep_inside():
    doc = parse_yaml("version: '5'\nactions:\n  a:\n    needs:\n      - x\n      - y\n")
    assert doc.locate(("actions", "a", "needs", 1)) == (6, 9)
    assert doc.locate(("actions", "a"), key=True) == (3, 3)
    assert doc.locate(("actions", "a", "missing")) == (4, 5)  # as far as the file goes
