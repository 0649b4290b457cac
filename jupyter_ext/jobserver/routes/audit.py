"""The audit trail, for administrators: who changed what, when, from what to what."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy import select

from .. import orm
from ..deps import CallerDep, SessionDep, permission
from ..pagination import DEFAULT_LIMIT, INT64_MAX, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P

router = APIRouter(tags=["audit"])


class AuditEvent(BaseModel):
    id: int
    actor: str
    action: str
    target_type: str
    target_id: str
    before: dict | None
    after: dict | None
    created_at: str


class AuditPage(BaseModel):
    items: list[AuditEvent]
    next: str | None = None


@router.get("/audit", openapi_extra=permission(P.AUDIT_VIEW))
def audit_log(
    request: Request,
    caller: CallerDep,
    session: SessionDep,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> AuditPage:
    """Newest first, filtered by who, what and which thing."""
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
    if (before := decode_cursor(cursor, int, INT64_MAX)) is not None:
        query = query.where(orm.AuditEvent.id < before)
    rows = session.scalars(query.order_by(orm.AuditEvent.id.desc()).limit(limit + 1)).all()
    items, next_url = page(request, rows, limit, lambda e: e.id)
    return AuditPage(
        items=[
            AuditEvent(
                id=e.id,
                actor=e.actor,
                action=e.action,
                target_type=e.target_type,
                target_id=e.target_id,
                before=e.before,
                after=e.after,
                created_at=e.created_at.isoformat(),
            )
            for e in items
        ],
        next=next_url,
    )
