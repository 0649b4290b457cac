"""People and their credentials."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from .common import Model, Timestamp
from .states import Role

EMAIL = r"^[^@\s]{1,64}@[^@\s]{1,200}\.[^@\s]{1,50}$"


class User(Model):
    username: str = Field(description="GitHub login.")
    fullname: str = ""
    email: str = ""
    roles: list[Role] = Field(default_factory=list, description="Global roles.")
    has_github_token: bool = False
    created_at: Timestamp


class UserCreate(Model):
    username: str = Field(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
    fullname: str = Field("", max_length=200)
    email: str | None = Field(None, pattern=EMAIL)
    roles: list[Role] = Field(default_factory=list)


class UserUpdate(Model):
    fullname: str | None = Field(None, max_length=200)
    email: str | None = Field(None, pattern=EMAIL)
    roles: list[Role] | None = None


class GitHubToken(Model):
    token: str = Field(min_length=20, max_length=255, repr=False)


class TokenScope(StrEnum):
    READ = "read"  # look, never change
    WRITE = "write"  # everything its owner may do


class ApiTokenCreate(Model):
    name: str = Field(min_length=1, max_length=100)
    scope: TokenScope = TokenScope.WRITE
    expires_in_days: int | None = Field(None, ge=1, le=3650)


class ApiToken(Model):
    id: int
    name: str
    prefix: str = Field(description="The first characters of the token, to recognise it.")
    scope: TokenScope = TokenScope.WRITE
    created_at: Timestamp
    last_used_at: Timestamp | None = None
    expires_at: Timestamp | None = None


class ApiTokenCreated(ApiToken):
    token: str = Field(description="Shown once: only its hash is kept.")
