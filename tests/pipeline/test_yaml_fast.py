"""The fast block-YAML reader returns exactly what libyaml returns, or gives up.

Giving up is always safe (the libyaml path then decides); returning something
libyaml would refuse or read differently is not. Checked on the real corpus
and on thousands of generated and mangled documents.
"""

from __future__ import annotations

import random

import pytest

from jupyter_ext.pipeline.yaml_fast import parse_block_yaml
from jupyter_ext.pipeline.yaml_loader import (
    YAMLSyntaxError,
    parse_yaml_with_libyaml,
    plain_scalar,
)

from ..benchmarks.generated import generate_pipeline
from ..conftest import SAMPLE_PROJECT, corpus_files


def assert_same_as_libyaml(text: str) -> bool:
    """True if the fast reader handled `text`; fails if it differs from libyaml."""
    fast = parse_block_yaml(text, plain_scalar)
    if fast is None:
        return False
    try:
        slow = parse_yaml_with_libyaml(text)
    except YAMLSyntaxError as exc:
        pytest.fail(f"the fast reader accepted what libyaml refuses ({exc}):\n{text}")
    data, key_marks, value_marks = fast
    assert data == slow.data, text
    assert [type(v) for v in _leaves(data)] == [type(v) for v in _leaves(slow.data)], text
    assert not slow.duplicate_keys
    for path, mark in key_marks.items():
        assert slow.locate(path, key=True) == mark, (path, text)
    for path, mark in value_marks.items():
        assert slow.locate(path) == mark, (path, text)
    return True


def _leaves(value):
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def test_real_files_read_the_same():
    handled = sum(
        assert_same_as_libyaml(path.read_text())
        for path in [*corpus_files(), SAMPLE_PROJECT / "project.yaml"]
    )
    assert handled >= 10
    assert assert_same_as_libyaml(generate_pipeline(300))


SCALARS = [
    "plain",
    "two words",
    "python:v2 a.py --x 1",
    "3",
    "-3",
    "0o17",
    "017",
    "1_000",
    "3.0",
    ".5",
    ".inf",
    ".nan",
    "true",
    "False",
    "yes",
    "no",
    "null",
    "~",
    "2020-01-02",
    "2020-1-2",
    "2020-01-02 03:04:05",
    "a#b",
    "a #b",
    "http://x/y",
    "a: b",
    "a:",
    ":a",
    "-a",
    "- a",
    "?a",
    "[a]",
    "{a}",
    "'q'",
    '"q"',
    "'it''s'",
    '"a\\tb"',
    "&a",
    "*a",
    "!t x",
    "|",
    ">",
    "%x",
    "@x",
    "`x`",
    "a,b",
    "a]",
    "ünï",
    "\u00a0x",
    "x\u2028y",
    "é: x",
    "#",
    "a  ",
    "#c",
]
COMMON = [
    "plain",
    "two words",
    "python:v2 a.py --x 1",
    "3",
    "3.0",
    "true",
    "null",
    "out/x.csv",
    "a#b",
    "'q'",
    '"q"',
    "2020-01-02",
    "-3",
    "~",
]
KEYS = ["a", "b1", "needs", "2017", "true", "null", "x.y", "with-dash", "_u", "a b", "'q'", "ä"]


def scalar(rng: random.Random) -> str:
    return rng.choice(SCALARS if rng.random() < 0.1 else COMMON)


def random_value(rng: random.Random, depth: int):
    roll = rng.random()
    if depth > 2 or roll < 0.5:
        return scalar(rng)
    if roll < 0.75:
        return [scalar(rng) for _ in range(rng.randrange(0, 4))]
    return {rng.choice(KEYS): random_value(rng, depth + 1) for _ in range(rng.randrange(1, 4))}


def emit(rng: random.Random, value, indent: int, step: int) -> list[str]:
    lines = []
    pad = " " * indent
    for key, item in value.items():
        comment = rng.choice(["", "", "", "  # note", " #x"])
        if isinstance(item, dict):
            lines.append(f"{pad}{key}:{comment}")
            lines += emit(rng, item, indent + step, step)
        elif isinstance(item, list):
            if rng.random() < 0.5:
                lines.append(f"{pad}{key}: [{', '.join(item)}]{comment}")
            else:
                lines.append(f"{pad}{key}:")
                inner = " " * (indent + rng.choice([0, step]))
                lines += [f"{inner}- {x}" for x in item]
        else:
            lines.append(f"{pad}{key}: {item}{comment}")
        if rng.random() < 0.1:
            lines.append(rng.choice(["", "# comment", "   ", f"{pad}  # indented comment"]))
    return lines


def mangle(rng: random.Random, text: str) -> str:
    lines = text.split("\n")
    for _ in range(rng.randrange(1, 3)):
        i = rng.randrange(len(lines))
        kind = rng.randrange(6)
        if kind == 0:
            lines[i] = " " + lines[i]
        elif kind == 1:
            lines[i] = lines[i][1:]
        elif kind == 2:
            lines.insert(i, lines[i])
        elif kind == 3 and lines[i]:
            j = rng.randrange(len(lines[i]))
            lines[i] = lines[i][:j] + rng.choice(":#-'\"[]{}\t ,&*!|>") + lines[i][j:]
        elif kind == 4:
            lines.insert(i, "  continued text")
        else:
            lines[i] = lines[i].rstrip() + rng.choice([" ", ":", " # c", "\r"])
    return "\n".join(lines)


@pytest.mark.parametrize("seed", range(8))
def test_generated_and_mangled_documents(seed):
    rng = random.Random(seed)
    handled = 0
    for _ in range(1000):
        keys = KEYS if rng.random() < 0.2 else KEYS[:3]
        value = {rng.choice(keys): random_value(rng, 0) for _ in range(rng.randrange(1, 5))}
        text = "\n".join(emit(rng, value, 0, rng.choice([1, 2, 3, 4]))) + "\n"
        handled += assert_same_as_libyaml(text)
        assert_same_as_libyaml(mangle(rng, text))
    assert handled > 350  # the reader is not giving up on everything


@pytest.mark.parametrize(
    "text",
    [
        "",
        "# only a comment\n",
        "- a\n",
        "  a: 1\n",
        "a: |\n  x\n",
        "a: 1\na: 2\n",
        "a:\tb\n",
        "\ufeffa: 1\n",
        "a: 1\r\nb: 2\n",
        "<<: *x\n",
        "a: [x,\n  y]\n",
        "a: 'x\n  y'\n",
    ],
)
def test_what_it_leaves_to_libyaml(text):
    assert parse_block_yaml(text, plain_scalar) is None
