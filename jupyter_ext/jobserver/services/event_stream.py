"""What a live stream may carry: the events of the projects its caller may view, filtered.

The stream itself (`routes/events.py`) asks `projects_seen_by` again whenever the caller's
access may have changed; this module decides, from the caller and the filters, which
stored events match.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import orm
from ..callers import Caller
from ..permissions import Permission as P
from .lookup import backend_named, workspace_named
from .projects import visible_projects

REPLAY_PAGE = 2_000
KINDS = ("job", "job_request", "log", "release")


@dataclass(frozen=True)
class EventFilter:
    projects: frozenset[int] | None  # None: every project
    workspace_id: int | None
    backend_id: int | None
    job_requests: frozenset[str] | None  # one request's, or a study run's
    kinds: frozenset[str]

    def matches(self, event: orm.Event) -> bool:
        return (
            event.kind in self.kinds
            and (self.projects is None or event.project_id in self.projects)
            and (self.workspace_id is None or event.workspace_id == self.workspace_id)
            and (self.backend_id is None or event.backend_id == self.backend_id)
            and (self.job_requests is None or event.job_request_id in self.job_requests)
        )

    def query(self, after: int):
        """The stored events after `after` that match, a page of `REPLAY_PAGE` at a time."""
        query = select(orm.Event).where(orm.Event.id > after, orm.Event.kind.in_(self.kinds))
        if self.projects is not None:
            query = query.where(orm.Event.project_id.in_(self.projects))
        for column, value in (
            (orm.Event.workspace_id, self.workspace_id),
            (orm.Event.backend_id, self.backend_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if self.job_requests is not None:
            query = query.where(orm.Event.job_request_id.in_(self.job_requests))
        return query.order_by(orm.Event.id).limit(REPLAY_PAGE)


def projects_seen_by(session: Session, caller: Caller) -> frozenset[int] | None:
    """The ids of the projects whose events the caller may see (None: every project)."""
    if caller.can(P.PROJECT_VIEW):
        return None
    return frozenset(session.scalars(visible_projects(caller).with_only_columns(orm.Project.id)))


def event_filter(
    session: Session,
    caller: Caller,
    *,
    workspace: str | None = None,
    backend: str | None = None,
    job_request: str | None = None,
    run: str | None = None,
    kinds: list[str],
) -> EventFilter:
    """What the caller may see and asked for: a study run's events are its job requests'."""
    requests = None if job_request is None else {job_request}
    if run is not None:
        parts = set(
            session.scalars(select(orm.JobRequest.id).where(orm.JobRequest.study_run_id == run))
        )
        requests = parts if requests is None else requests & parts
    return EventFilter(
        projects=projects_seen_by(session, caller),
        workspace_id=workspace_named(session, workspace).id if workspace else None,
        backend_id=backend_named(session, backend).id if backend else None,
        job_requests=None if requests is None else frozenset(requests),
        kinds=frozenset(kinds),
    )


def replay(session: Session, wanted: EventFilter, after: int) -> list[orm.Event]:
    return list(session.scalars(wanted.query(after)))
