"""The auditors' record of release decisions: every file version of the releases requested in
a date range, with the rules' findings, the votes, the votes withdrawn and who published.

Read by administrators and output checkers: global ones see every release, a site's own
checkers those leaving their site (`Caller.sites`). A release is in the range by the day it
was requested (UTC): the record then holds every decision on it up to the moment it is read,
so a range read again later only grows. Reading it is itself audited (`release.export`).

The record is read in pages of releases, each with a session of its own, so a large range
streams out without being held in memory (`decisions`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, lazyload, selectinload

from ... import schema
from .. import orm
from ..audit import record
from ..callers import Caller
from ..errors import ProblemError
from ..permissions import Permission as P
from .lookup import project_named

PAGE = 100  # releases per query
# what the record reads of a release's files: their votes, not their jobs or comments (the
# files' joined jobs would bring each job's request, workspace and people along)
FILES = selectinload(orm.Release.files).options(
    lazyload(orm.ReleaseFile.job),
    lazyload(orm.ReleaseFile.release),
    lazyload(orm.ReleaseFile.comments),
)
WITHDRAWN, RELEASED = "release_file.review_withdraw", "release_file.released"


@dataclass(frozen=True)
class RecordScope:
    """Which releases a reading of the record covers (also the audit event's target)."""

    project_id: int | None
    sites: tuple[int, ...] | None  # None: every site
    since: dt.date | None
    until: dt.date | None
    name: str  # the project's slug, or "all"
    __audit_name__ = "release_record"


def record_sites(caller: Caller) -> tuple[int, ...] | None:
    """The sites whose releases `caller` may read the record of (None: every site); a 403
    that says who may."""
    if caller.can(P.RELEASE_RECORD):
        return None
    if held := caller.sites(P.RELEASE_RECORD):
        return tuple(sorted(held))
    raise ProblemError(
        403,
        f"{caller.name} may not read the record of release decisions: only administrators "
        "and output checkers may (a site's own checkers, for what leaves that site)",
    )


def open_record(
    session: Session,
    caller: Caller,
    *,
    project: str | None,
    since: dt.date | None,
    until: dt.date | None,
    form: str,
) -> RecordScope:
    """What `caller` may read of the record, the reading audited; a 403 that says who may."""
    if since and until and since > until:
        raise ProblemError(422, f"the range starts ({since}) after it ends ({until}): swap them")
    sites = record_sites(caller)
    project_id = project_named(session, project).id if project else None
    scope = RecordScope(project_id, sites, since, until, project or "all")
    after = {
        "project": project,
        "from": since.isoformat() if since else None,
        "to": until.isoformat() if until else None,
        "format": form,
        "sites": list(sites) if sites is not None else "all",
    }
    record(session, caller.name, "release.export", scope, after=after)
    session.commit()
    return scope


def _releases(scope: RecordScope):
    query = select(orm.Release)
    if scope.project_id is not None:
        workspaces = select(orm.Workspace.id).where(orm.Workspace.project_id == scope.project_id)
        query = query.where(orm.Release.workspace_id.in_(workspaces))
    if scope.sites is not None:
        query = query.where(orm.Release.backend_id.in_(scope.sites))
    if scope.since is not None:
        query = query.where(orm.Release.created_at >= _midnight(scope.since))
    if scope.until is not None:
        query = query.where(orm.Release.created_at < _midnight(scope.until + dt.timedelta(days=1)))
    return query


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def decisions(
    sessions: Callable[[], Session], scope: RecordScope, page: int = PAGE
) -> Iterator[schema.ReleaseDecision]:
    """Every file version of the releases in `scope`, oldest release first, read `page`
    releases at a time, each page in a session of its own (none is held between pages)."""
    after = ""
    while True:
        with sessions() as session:
            rows = list(
                session.scalars(
                    _releases(scope)
                    .options(FILES)
                    .where(orm.Release.id > after)
                    .order_by(orm.Release.id)
                    .limit(page)
                )
            )
            if not rows:
                return
            events = _file_events(session, [f.id for r in rows for f in r.files])
            found = [_decision(r, f, events.get(f.id, [])) for r in rows for f in _files(r)]
        yield from found
        after = rows[-1].id


def _files(row: orm.Release) -> list[orm.ReleaseFile]:
    return sorted(row.files, key=lambda f: (f.group, f.path, f.version))


def _file_events(session: Session, file_ids: list[str]) -> dict[str, list[orm.AuditEvent]]:
    """The audit's withdrawn votes and publications of these files, oldest first."""
    found: dict[str, list[orm.AuditEvent]] = {}
    if not file_ids:
        return found
    events = session.scalars(
        select(orm.AuditEvent)
        .where(
            orm.AuditEvent.target_type == "release_file",
            orm.AuditEvent.target_id.in_(file_ids),
            orm.AuditEvent.action.in_((WITHDRAWN, RELEASED)),
        )
        .order_by(orm.AuditEvent.id)
    )
    for event in events:
        found.setdefault(event.target_id, []).append(event)
    return found


def _decision(
    row: orm.Release, f: orm.ReleaseFile, events: list[orm.AuditEvent]
) -> schema.ReleaseDecision:
    published = next((e for e in events if e.action == RELEASED), None)
    return schema.ReleaseDecision(
        release=row.id,
        project=row.workspace.project.slug,
        workspace=row.workspace.name,
        backend=row.backend.slug,
        group=f.group,
        file=f.id,
        path=f.path,
        version=f.version,
        sha256=f.sha256,
        size=f.size,
        state=f.state,
        findings=[
            {"rule": x["rule"], "verdict": x["verdict"], "message": x["message"]}
            for x in (f.check or {}).get("findings", [])
        ],
        votes=[
            schema.RecordedVote(
                reviewer=r.reviewer.username,
                decision=r.decision,
                comment=r.comment,
                cast_at=r.created_at,
                changed_at=r.updated_at,
            )
            for r in review_order(f.reviews)
        ],
        withdrawn_votes=[_withdrawn(e) for e in events if e.action == WITHDRAWN],
        requested_by=row.created_by.username,
        requested_at=row.created_at,
        published_by=published.actor if published else None,
        published_at=published.created_at if published else None,
    )


def review_order(reviews: list[orm.Review]) -> list[orm.Review]:
    """Votes in the order cast (the order `review.tally` counts them)."""
    return sorted(reviews, key=lambda r: r.id)


def _withdrawn(event: orm.AuditEvent) -> schema.RecordedVote:
    vote: dict[str, Any] = event.before or {}
    return schema.RecordedVote(
        reviewer=event.actor,
        decision=vote["decision"],
        comment=vote.get("comment", ""),
        cast_at=vote.get("cast_at"),
        changed_at=vote.get("changed_at"),
        withdrawn_at=event.created_at,
    )
