"""The audit trail: every state change says who, what, when, before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from . import orm


def record(
    session: Session,
    actor: str,
    action: str,
    target: Any,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Add an audit event to the session's transaction: it commits with the change or not at all."""
    table = getattr(target, "__tablename__", type(target).__name__)
    target_type = getattr(target, "__audit_name__", table.removesuffix("s"))
    target_id = next(
        (
            str(getattr(target, a))
            for a in ("identifier", "slug", "name", "username", "id")
            if getattr(target, a, None) is not None
        ),
        "?",
    )
    session.add(
        orm.AuditEvent(
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target_id,
            before=before,
            after=after,
        )
    )
