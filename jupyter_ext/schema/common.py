"""Shapes shared by every resource: pages of results and problem details."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

T = TypeVar("T")

Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"),
    Field(description="Lower-case letters, digits and hyphens, as in URLs."),
]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Timestamp = AwareDatetime


class Model(BaseModel):
    """Base of wire models: unknown fields are refused, so a typo is a 422, not ignored."""

    model_config = ConfigDict(extra="forbid", from_attributes=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        """No text may hold NUL: databases refuse it, and no real text needs it."""
        if _has_nul(data):
            raise ValueError("text may not contain the NUL character (\\x00)")
        return data


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Page(Model, Generic[T]):
    """One page of a list, oldest or newest first as the list says; `next` is the next page."""

    items: list[T]
    next: str | None = Field(None, description="URL of the next page, absent on the last.")


class Problem(BaseModel):
    """RFC 9457 problem details: `detail` says what to change."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[dict] | None = None


def utc_text(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
