"""Cursor pagination: `limit`, an opaque `cursor`, and a `next` link that keeps the filters."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import Request

from .errors import ProblemError

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500
INT32_MAX = 2**31 - 1  # the largest INTEGER of PostgreSQL: ids and numbers
INT64_MAX = 2**63 - 1  # the largest BIGINT: event and audit ids


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: type = int, maximum: int = INT32_MAX) -> Any:
    """The sort key a `next` link carries; a cursor this server did not make is a 400."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        value = None
    valid = type(value) is kind and (kind is not int or 0 <= value <= maximum)
    if not valid:
        raise ProblemError(400, "the cursor is not one this server made: use the `next` link")
    return value


def page(
    request: Request, rows: Sequence[T], limit: int, key: Callable[[T], Any]
) -> tuple[list[T], str | None]:
    """The page's rows and the `next` URL; `rows` holds up to `limit + 1` rows."""
    if len(rows) <= limit:
        return list(rows), None
    items = list(rows[:limit])
    url = request.url.include_query_params(cursor=encode_cursor(key(items[-1])), limit=limit)
    return items, str(url)
