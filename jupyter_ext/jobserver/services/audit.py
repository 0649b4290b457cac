"""The audit trail, read by administrators: who changed what, when, from what to what.

(Events are written by `jobserver/audit.py: record`, in the transaction of the change.)
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import orm
from ..callers import Caller
from ..permissions import Permission as P


def audit_events(
    session: Session,
    caller: Caller,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    before: int | None = None,
    limit: int = 100,
) -> list[orm.AuditEvent]:
    """Up to `limit` events, newest first (older than the event `before`), filtered by who,
    what and which thing."""
    caller.require(P.AUDIT_VIEW)
    query = select(orm.AuditEvent)
    for column, value in (
        (orm.AuditEvent.actor, actor),
        (orm.AuditEvent.action, action),
        (orm.AuditEvent.target_type, target_type),
        (orm.AuditEvent.target_id, target_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if before is not None:
        query = query.where(orm.AuditEvent.id < before)
    return list(session.scalars(query.order_by(orm.AuditEvent.id.desc()).limit(limit)))
