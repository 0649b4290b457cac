"""Who signs in and belongs where: users, their API tokens and sign-ins, orgs and members."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, UTCDateTime, created

if TYPE_CHECKING:
    from .work import Backend  # work imports this module; the mapper finds it by name


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    fullname: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    roles: Mapped[list[Any]] = mapped_column(JSON, default=list)
    github_token: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)  # Fernet
    created_at: Mapped[dt.datetime] = created()


class ApiToken(Base):
    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(8), default="write")  # read: safe methods only
    created_at: Mapped[dt.datetime] = created()
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    user: Mapped[User] = relationship(lazy="joined")


class SignInSession(Base):
    """A browser's sign-in to the pages: its cookie holds a random key (only its hash is kept
    here) beside the hub's token. Signing out ends it, so a copied cookie stops working; the
    pages' CSRF token is made from its key, so each sign-in has its own."""

    __tablename__ = "sign_in_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = created()
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, default=None)
    user: Mapped[User] = relationship(lazy="joined")


class Org(Base):
    __tablename__ = "orgs"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[dt.datetime] = created()
    backends: Mapped[list[Backend]] = relationship(
        secondary="org_backends", order_by="Backend.slug"
    )


class OrgMember(Base):
    __tablename__ = "org_members"
    org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[dt.datetime] = created()
    user: Mapped[User] = relationship(lazy="joined")
