"""The audit trail, for administrators: the API's face of `services.audit`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel

from .. import orm
from ..callers import Caller
from ..deps import SessionDep, requires
from ..pagination import DEFAULT_LIMIT, INT64_MAX, MAX_LIMIT, decode_cursor, page
from ..permissions import Permission as P
from ..services import audit

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


def audit_event(row: orm.AuditEvent) -> AuditEvent:
    return AuditEvent(
        id=row.id,
        actor=row.actor,
        action=row.action,
        target_type=row.target_type,
        target_id=row.target_id,
        before=row.before,
        after=row.after,
        created_at=row.created_at.isoformat(),
    )


@router.get("/audit")
def audit_log(
    request: Request,
    caller: Annotated[Caller, requires(P.AUDIT_VIEW)],
    session: SessionDep,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    limit: int = Query(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT),
    cursor: str | None = None,
) -> AuditPage:
    """Newest first, filtered by who, what and which thing."""
    rows = audit.audit_events(
        session,
        caller,
        actor,
        action,
        target_type,
        target_id,
        decode_cursor(cursor, int, INT64_MAX),
        limit + 1,
    )
    items, next_url = page(request, rows, limit, lambda e: e.id)
    return AuditPage(items=[audit_event(e) for e in items], next=next_url)
