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


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise ProblemError(
            400, "the cursor is not one this server made: use the `next` link of a page"
        ) from None


def page(
    request: Request, rows: Sequence[T], limit: int, key: Callable[[T], Any]
) -> tuple[list[T], str | None]:
    """The page's rows and the `next` URL; `rows` holds up to `limit + 1` rows."""
    if len(rows) <= limit:
        return list(rows), None
    items = list(rows[:limit])
    url = request.url.include_query_params(cursor=encode_cursor(key(items[-1])), limit=limit)
    return items, str(url)
