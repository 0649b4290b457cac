"""The checkers' desk: an output checker's backlog, their own votes, and the time to a decision.

For output checkers only: global ones see every site's releases, a site's own checkers that
site's (`Caller.sites`). The backlog is the releases they may review with files still open
(asked for, or in review: a tie is in review), never their own requests, oldest first; each
names who holds it (the checkers who voted on its open files, never how: a checker sees the
others' votes only once they voted too, `review.votes_visible`) and what waits for the
caller. The history is the caller's votes, latest cast first, a page at a time.

The time to a decision is read from the audit trail, not from the votes: `transitions.move`
records each file's move into approved, changes_requested or rejected as
`release_file.<state>`, and the first such event is when the file was first decided, even
if votes changed since (a vote row keeps only its latest decision and time). The median is
of that moment minus the release's request, over the files first decided in the window.

Every part is a fixed number of queries whatever the size of the backlog: the count and the
releases of a page, their files, their votes, the history, and one query of decisions.
"""

from __future__ import annotations

import datetime as dt
import statistics
from typing import NamedTuple

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from ... import schema
from ...schema.states import FileState
from .. import orm, review
from ..callers import Caller
from ..errors import ProblemError
from ..permissions import Permission as P
from ..states import RELEASE_ACTS

F = FileState
OPEN = (F.REQUESTED, F.IN_REVIEW)  # what waits for votes; a tie stays in review
DECIDED = tuple(f"release_file.{s}" for s in (F.APPROVED, F.CHANGES_REQUESTED, F.REJECTED))
WINDOW = dt.timedelta(days=30)


def checker_sites(caller: Caller) -> list[int] | None:
    """The sites whose releases `caller` checks: None for a global checker (every site), else
    the sites that named them; anyone else is refused, saying what the desk is for."""
    if caller.can(P.RELEASE_REVIEW):
        return None
    if sites := caller.sites(P.RELEASE_REVIEW):
        return sites
    raise ProblemError(
        403,
        f"{caller.name} is not an output checker: the checkers' desk is for output checkers "
        "(global ones, or those a site named); ask an administrator for the role",
    )


def desk(
    session: Session,
    caller: Caller,
    *,
    required: int,
    limit: int,
    history: int,
    before: int | None = None,
    now: dt.datetime | None = None,
) -> schema.Desk:
    """The caller's desk: up to `limit` releases of the backlog, `history` of their votes
    (cast before the vote `before`), and the decision times of the last 30 days."""
    sites = checker_sites(caller)
    now = now or orm.utcnow()
    names = _site_slugs(session, sites)
    votes, older = _history(session, caller, history, before)
    total, queued = _backlog(session, caller, sites, limit, required, now)
    decided = _decisions(session, now)
    return schema.Desk(
        checker=caller.name,
        sites=names,
        now=now,
        backlog=queued,
        backlog_total=total,
        history=votes,
        history_before=older,
        window_days=WINDOW.days,
        decision_times=_times([t for _, t in decided], []),
        decision_times_yours=_times(
            [t for site, t in decided if sites is None or site in sites], names
        ),
    )


def _site_slugs(session: Session, sites: list[int] | None) -> list[str]:
    if sites is None:
        return []
    return list(
        session.scalars(
            select(orm.Backend.slug).where(orm.Backend.id.in_(sites)).order_by(orm.Backend.slug)
        )
    )


def _backlog(
    session: Session, caller: Caller, sites: list[int] | None, limit: int, required: int, now
) -> tuple[int, list[schema.QueuedRelease]]:
    """How many releases wait, and the oldest `limit` of them: read as columns (the ORM's
    eager loads of a release, its files' jobs and comments, would cost ten times more)."""
    still_open = exists().where(
        orm.ReleaseFile.release_id == orm.Release.id, orm.ReleaseFile.state.in_(OPEN)
    )
    where = [
        orm.Release.state.in_(RELEASE_ACTS["vote"][0]),
        orm.Release.created_by_id != caller.user.id,  # they may not review their own
        still_open,
    ]
    if sites is not None:
        where.append(orm.Release.backend_id.in_(sites))
    total = session.scalar(select(func.count()).select_from(orm.Release).where(*where)) or 0
    query = (
        select(
            *(orm.Release.id, orm.Release.state, orm.Release.created_at),
            *(orm.Org.slug, orm.Project.slug, orm.Workspace.name, orm.Backend.slug),
            orm.User.username,
        )
        .join(orm.Workspace, orm.Workspace.id == orm.Release.workspace_id)
        .join(orm.Project, orm.Project.id == orm.Workspace.project_id)
        .join(orm.Org, orm.Org.id == orm.Project.org_id)
        .join(orm.Backend, orm.Backend.id == orm.Release.backend_id)
        .join(orm.User, orm.User.id == orm.Release.created_by_id)
        .where(*where)
        .order_by(orm.Release.created_at, orm.Release.id)
        .limit(limit)
    )
    releases = session.execute(query).all()
    files = _files(session, [r[0] for r in releases])
    return total, [_queued(caller, r, files.get(r[0], []), required, now) for r in releases]


class _File(NamedTuple):
    """What the desk needs of a file (`review.ordered` sorts these as it sorts rows)."""

    id: str
    release_id: str
    group: str
    path: str
    version: int
    state: str
    voters: list[tuple[int, str]]  # (user id, username) of each vote, never the decision


def _files(session: Session, releases: list[str]) -> dict[str, list[_File]]:
    """The files asked for now of `releases`, with who voted on each: two queries."""
    file = orm.ReleaseFile
    rows = session.execute(
        select(file.id, file.release_id, file.group, file.path, file.version, file.state).where(
            file.release_id.in_(releases), file.state.not_in(review.CURRENT_OUT)
        )
    ).all()
    voters: dict[str, list[tuple[int, str]]] = {r.id: [] for r in rows}
    if open_ids := [r.id for r in rows if r.state in OPEN]:
        votes = session.execute(
            select(orm.Review.release_file_id, orm.User.id, orm.User.username)
            .join(orm.User, orm.User.id == orm.Review.reviewer_id)
            .where(orm.Review.release_file_id.in_(open_ids))
            .order_by(orm.Review.id)
        )
        for file_id, user_id, username in votes:
            voters[file_id].append((user_id, username))
    found: dict[str, list[_File]] = {}
    for r in rows:
        found.setdefault(r.release_id, []).append(_File(*r, voters[r.id]))
    return found


def _queued(
    caller: Caller, row, files: list[_File], required: int, now: dt.datetime
) -> schema.QueuedRelease:
    release_id, state, asked, org, project, workspace, backend, author = row
    open_files = [f for f in files if f.state in OPEN]
    counts: dict[str, int] = {}
    for f in files:
        counts[f.state] = counts.get(f.state, 0) + 1
    waiting = [
        schema.WaitingFile(
            id=f.id,
            path=f.path,
            version=f.version,
            state=f.state,
            tie=f.state == F.IN_REVIEW and len(f.voters) >= required,
        )
        for f in review.ordered(open_files)
        if all(user_id != caller.user.id for user_id, _ in f.voters)
    ]
    return schema.QueuedRelease(
        id=release_id,
        org=org,
        project=project,
        workspace=workspace,
        backend=backend,
        state=state,
        created_by=author,
        created_at=asked,
        age_seconds=max(0.0, (now - asked).total_seconds()),
        files=counts,
        waiting_for_you=waiting,
        held_by=sorted({name for f in open_files for _, name in f.voters}),
    )


def _history(
    session: Session, caller: Caller, limit: int, before: int | None
) -> tuple[list[schema.DeskVote], int | None]:
    """The caller's votes, latest cast first, and the `before` of the next (older) page."""
    file = orm.ReleaseFile
    query = (
        select(
            orm.Review,
            *(file.id, file.release_id, file.path, file.version, file.state),
            *(orm.Org.slug, orm.Project.slug, orm.Workspace.name),
        )
        .join(file, file.id == orm.Review.release_file_id)
        .join(orm.Release, orm.Release.id == file.release_id)
        .join(orm.Workspace, orm.Workspace.id == orm.Release.workspace_id)
        .join(orm.Project, orm.Project.id == orm.Workspace.project_id)
        .join(orm.Org, orm.Org.id == orm.Project.org_id)
        .where(orm.Review.reviewer_id == caller.user.id)
        .order_by(orm.Review.id.desc())
        .limit(limit + 1)
    )
    if before is not None:
        query = query.where(orm.Review.id < before)
    rows = session.execute(query).all()
    votes = [
        schema.DeskVote(
            id=vote.id,
            release=release,
            file=file_id,
            path=path,
            version=version,
            org=org,
            project=project,
            workspace=workspace,
            decision=vote.decision,
            cast_at=vote.created_at,
            changed_at=vote.updated_at,
            file_state=state,
        )
        for vote, file_id, release, path, version, state, org, project, workspace in rows[:limit]
    ]
    return votes, (votes[-1].id if len(rows) > limit else None)


def _decisions(session: Session, now: dt.datetime) -> list[tuple[int, float]]:
    """Each file first decided in the window: its release's site, and the seconds from the
    request to that decision. One query: a decision event with no earlier one of its file
    (the audit trail's target index finds those)."""
    decided, earlier = aliased(orm.AuditEvent), aliased(orm.AuditEvent)
    first = ~exists().where(
        earlier.target_type == "release_file",
        earlier.target_id == decided.target_id,
        earlier.action.in_(DECIDED),
        earlier.id < decided.id,
    )
    query = (
        select(orm.Release.backend_id, orm.Release.created_at, decided.created_at)
        .select_from(decided)
        .join(orm.ReleaseFile, orm.ReleaseFile.id == decided.target_id)
        .join(orm.Release, orm.Release.id == orm.ReleaseFile.release_id)
        .where(
            decided.target_type == "release_file",
            decided.action.in_(DECIDED),
            decided.created_at >= now - WINDOW,
            decided.created_at <= now,
            first,
        )
    )
    return [
        (site, max(0.0, (at - asked).total_seconds())) for site, asked, at in session.execute(query)
    ]


def _times(seconds: list[float], sites: list[str]) -> schema.DecisionTimes:
    return schema.DecisionTimes(
        sites=sites,
        files=len(seconds),
        median_seconds=statistics.median(seconds) if seconds else None,
    )
