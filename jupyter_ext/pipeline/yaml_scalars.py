"""YAML 1.2 scalar typing, as ruamel (the official parser's loader) resolves it.

libyaml hands over every scalar as text; which plain ones are null, true/false,
numbers or timestamps is YAML 1.2's rule, not PyYAML's 1.1 one (where `yes`,
`on` and `0777` differ). One module holds that rule, so the event builder, the
fast block reader and the composer for positions all type a scalar alike.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from yaml.events import ScalarEvent

__all__ = ["MAP", "MERGE", "SEQ", "STR", "plain_scalar", "resolve_tag", "scalar_value"]

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


def scalar_value(event: ScalarEvent) -> Any:
    """The value of one scalar event: its tag's type, or YAML 1.2's if plain and untagged."""
    value, tag = event.value, event.tag
    if tag is None:
        if not event.implicit[0] or value[:1] not in _NOT_STR_START:
            return value  # quoted, or plain and cannot be anything but a string
        tag = resolve_tag(value)
    convert = _SCALARS.get(tag)
    return value if convert is None else convert(value)


def resolve_tag(value: str) -> str:
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


def plain_scalar(value: str) -> Any:
    """The YAML 1.2 value of an untagged plain scalar."""
    if value[:1] not in _NOT_STR_START:
        return value
    convert = _SCALARS.get(resolve_tag(value))
    return value if convert is None else convert(value)
