"""Notifications: one digest per finished job request and per release state change.

Who hears of what is `RULES`, data in one place. A notification is a row of the
outbox table (`orm.Notification`) written in the same transaction as the change
that causes it, so it is sent if and only if the change is committed. The sender,
a task of the job server, delivers due rows (mail over SMTP, and an optional
webhook whose JSON body is signed: `X-Jupyter-Ext-Signature: sha256=<HMAC>`),
marks them sent, and tries again with backoff while a server is down. A mail
server that is down delays mail; it never fails a job, a request or a release.

A job request is noticed when it ends from the live events of its jobs, so every
way a job ends (its runner's report, a cancel, an expired lease, a dependency
that failed) is covered without each saying so. The sites of a study run are
told of once, in one digest, when the last of them ends. What each says is written by
`notification_texts.py`; where and how often they go is `Notifier`'s configuration.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import os
import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import httpx
from sqlalchemy import event as sa_event
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from traitlets import Float, Integer, Unicode, default
from traitlets.config import LoggingConfigurable

from . import orm
from .background import in_thread
from .notification_texts import (
    WHAT,
    job_request_json,
    job_request_text,
    release_json,
    release_text,
    run_json,
    run_text,
)
from .permissions import Permission, granted
from .states import FINISHED_JOB_STATES

log = logging.getLogger("jupyter_ext.jobserver")
SIGNATURE_HEADER = "X-Jupyter-Ext-Signature"

# Who hears of what. The people of the workspace (the requester, the release's author)
# hear only while the workspace's notifications are on (the requester only if the job
# request asked to be told); output checkers and publishers hear of work waiting for them
# whatever a workspace says. Everyone needs an email address in their settings.
RULES: dict[str, tuple[str, ...]] = {
    "job_request.finished": ("requester",),
    "run.finished": ("requester",),  # one digest for a study run's sites, not one per site
    "release.requested": ("checkers",),
    "release.reviewed": ("author", "publishers"),  # every file's review settled
    "release.released": ("author",),
    "release.rejected": ("author",),
    "release.withdrawn": ("checkers",),
    "release.updated": ("checkers",),  # the author replaced a file: a new version to review
}
assert set(WHAT) == {e for e in RULES if e.startswith("release.")}  # a text for each
STAFF = {"checkers": Permission.RELEASE_REVIEW, "publishers": Permission.RELEASE_PUBLISH}
CLAIM = dt.timedelta(minutes=1)  # a row being delivered is left alone by other senders
BATCH = 50


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: `sha256=` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Notifier(LoggingConfigurable):
    """Writes outbox rows (see `attach`, `release`) and delivers them (`run`).

    Built by the job server with `parent=` its `JobServerApp`, so `c.Notifier.*` configures
    it. An empty `smtp_host` and `webhook_url` (the defaults) turn notifications off.
    """

    smtp_host = Unicode(
        help="""Mail server for notifications (one digest per finished job request, one per
        release state change), e.g. `c.Notifier.smtp_host = "smtp.example.org"`.
        Empty (the default): no mail. A mail server that is down only delays mail."""
    ).tag(config=True)
    smtp_port = Integer(25, help="The mail server's SMTP port.").tag(config=True)
    mail_from = Unicode(
        "jupyter-ext@localhost", help="The From address of notification mails."
    ).tag(config=True)
    webhook_url = Unicode(
        help="""An address to POST every notification to as JSON (empty: none), signed in the
        header `X-Jupyter-Ext-Signature: sha256=<hex HMAC-SHA256 of the body>` with
        webhook_secret."""
    ).tag(config=True)
    webhook_secret = Unicode(
        help="The webhook's signing key. Default: JUPYTER_EXT_WEBHOOK_SECRET."
    ).tag(config=True)
    public_url = Unicode(
        help="""The job server's address as people reach it, e.g.
        `https://hub.example.org/services/jobserver/`, for links in mails. Default: the job
        server's base_url (links without a host)."""
    ).tag(config=True)
    interval = Float(
        5.0,
        help="""Seconds between two looks for notifications due (a commit that writes some
        wakes the sender at once); also the wait before the first retry of one that failed,
        doubled at each try up to retry_max. E.g. `c.Notifier.interval = 10`.""",
    ).tag(config=True)
    retry_max = Float(
        300.0, help="The longest wait, in seconds, between two tries of one notification."
    ).tag(config=True)
    give_up_after = Float(
        2 * 24 * 3600.0,
        help="Seconds after which a notification never delivered is given up (two days).",
    ).tag(config=True)

    @default("webhook_secret")
    def _default_webhook_secret(self) -> str:
        return os.environ.get("JUPYTER_EXT_WEBHOOK_SECRET", "")

    @default("public_url")
    def _default_public_url(self) -> str:
        return getattr(self.parent, "base_url", "")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.wake: asyncio.Event | None = None  # made in the loop `run` runs in
        self.loop: asyncio.AbstractEventLoop | None = None
        self.on_failure: Callable[[str], None] = lambda channel: None  # metrics.py counts

    @property
    def enabled(self) -> bool:
        return bool(self.smtp_host or self.webhook_url)

    def __repr__(self) -> str:  # never the secret
        return f"Notifier(smtp={self.smtp_host}:{self.smtp_port}, webhook={self.webhook_url!r})"

    # -- writing, inside the transaction of the change --------------------------

    def attach(self, factory: sessionmaker) -> None:
        """Before each commit, a digest for every job request whose last job just ended."""

        @sa_event.listens_for(factory, "before_commit")
        def _job_requests(session: Session) -> None:
            if not self.enabled:
                return
            ended = {
                row.job_request_id
                for row in session.info.get("events", [])
                if row.kind == "job" and row.data.get("state") in FINISHED_JOB_STATES
            }
            for request_id in sorted(i for i in ended if i):
                self._job_request_ended(session, request_id)

        @sa_event.listens_for(factory, "after_commit")
        def _committed(session: Session) -> None:
            loop, wake = self.loop, self.wake
            if session.info.pop("notifications", False) and loop and wake and not loop.is_closed():
                loop.call_soon_threadsafe(wake.set)

        @sa_event.listens_for(factory, "after_rollback")
        def _rolled_back(session: Session) -> None:
            session.info.pop("notifications", None)

    def _job_request_ended(self, session: Session, request_id: str) -> None:
        session.flush()
        request = session.get(orm.JobRequest, request_id)
        run = request.study_run
        if session.get_bind().dialect.name == "postgresql":  # two last jobs ending at once:
            table = orm.StudyRun if run else orm.JobRequest  # (at two sites of one run, too)
            held = run.id if run else request_id
            session.execute(  # the second waits, then sees the first
                select(table.id).where(table.id == held).with_for_update()
            )
        parts = [r.id for r in run.job_requests] if run else [request_id]
        states = session.scalars(select(orm.Job.state).where(orm.Job.job_request_id.in_(parts)))
        if not all(s in FINISHED_JOB_STATES for s in states):
            return
        event, subject = ("run.finished", run.id) if run else ("job_request.finished", request_id)
        done = select(orm.Notification.id).where(
            orm.Notification.event == event, orm.Notification.subject_id == subject
        )
        if session.scalar(done.limit(1)) is not None:
            return
        if run is not None:
            text, data = run_text(run, self.public_url), run_json(run)
        else:
            text, data = job_request_text(request, self.public_url), job_request_json(request)
        self._write(session, event, subject, request.workspace, text, data, job_request=request)

    def release(self, session: Session, release: orm.Release, event: str) -> None:
        """Call in the transaction that changed the release: `event` is a key of RULES."""
        if not self.enabled:
            return
        self._write(
            session,
            event,
            release.id,
            release.workspace,
            release_text(release, event, self.public_url),
            release_json(release, event),
            author=release.created_by,
            backend=release.backend,
        )

    def _write(
        self,
        session: Session,
        event: str,
        subject_id: str,
        workspace: orm.Workspace,
        text: tuple[str, str],
        data: dict[str, Any],
        **people: Any,
    ) -> None:
        rows = []
        if self.smtp_host:
            subject, body = text
            rows += [
                orm.Notification(
                    event=event,
                    subject_id=subject_id,
                    channel="email",
                    recipient=address,
                    subject=subject,
                    body=body,
                )
                for address in recipients(session, event, workspace, **people)
            ]
        if self.webhook_url:
            payload = {"event": event, "at": orm.utcnow().isoformat(), **data}
            rows.append(
                orm.Notification(
                    event=event,
                    subject_id=subject_id,
                    channel="webhook",
                    subject=event,
                    body=json.dumps(payload),
                )
            )
        session.add_all(rows)
        if rows:
            session.info["notifications"] = True

    # -- delivering, in the job server's sender task ----------------------------

    async def run(self, factory: sessionmaker) -> None:
        """Deliver due rows now and then, and at once after a commit that wrote some."""
        if not self.enabled:
            return
        wake = asyncio.Event()
        self.wake, self.loop = wake, asyncio.get_running_loop()
        async with httpx.AsyncClient(timeout=10) as client:
            while True:
                wake.clear()
                try:
                    await self.deliver_due(factory, client)
                except Exception:  # keep sending; the error is logged
                    log.exception("sending notifications failed")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), self.interval)

    async def deliver_due(self, factory: sessionmaker, client: httpx.AsyncClient) -> int:
        rows = await in_thread(self._claim, factory)
        for row in rows:
            try:
                if row.channel == "email":
                    await in_thread(self._mail, row)
                else:
                    await self._post(client, row)
                error = None
            except Exception as exc:  # a server down or refusing: later, or never
                error = f"{type(exc).__name__}: {exc}"[:2000]
                self.on_failure(row.channel)
            await in_thread(self._done, factory, row, error)
        return len(rows)

    def _claim(self, factory: sessionmaker) -> list[orm.Notification]:
        """Due rows this sender takes (another process sharing the database takes others)."""
        now = orm.utcnow()
        with factory() as session:
            due = session.scalars(
                select(orm.Notification)
                .where(
                    orm.Notification.sent_at.is_(None),
                    orm.Notification.failed_at.is_(None),
                    orm.Notification.next_attempt_at <= now,
                )
                .order_by(orm.Notification.id)
                .limit(BATCH)
            ).all()
            taken = []
            for row in due:
                claimed = session.execute(
                    update(orm.Notification)
                    .where(
                        orm.Notification.id == row.id,
                        orm.Notification.next_attempt_at == row.next_attempt_at,
                        orm.Notification.sent_at.is_(None),
                    )
                    .values(next_attempt_at=now + CLAIM)
                ).rowcount
                if claimed:
                    taken.append(row)
            session.commit()
            for row in taken:
                session.expunge(row)
            return taken

    def _done(self, factory: sessionmaker, row: orm.Notification, error: str | None) -> None:
        now = orm.utcnow()
        values: dict[str, Any] = {"attempts": row.attempts + 1}
        if error is None:
            values["sent_at"] = now
        elif now - row.created_at > dt.timedelta(seconds=self.give_up_after):
            values.update(failed_at=now, last_error=error)
            log.warning("gave up notification %s to %s: %s", row.id, row.channel, error)
        else:
            delay = min(self.retry_max, self.interval * 2**row.attempts)
            values.update(next_attempt_at=now + dt.timedelta(seconds=delay), last_error=error)
            log.info("notification %s (%s) will be tried again: %s", row.id, row.channel, error)
        with factory() as session:
            session.execute(
                update(orm.Notification).where(orm.Notification.id == row.id).values(**values)
            )
            session.commit()

    def _mail(self, row: orm.Notification) -> None:
        message = EmailMessage()
        message["From"], message["To"] = self.mail_from, row.recipient
        message["Subject"] = row.subject
        message.set_content(row.body)
        with smtplib.SMTP(self.smtp_host, self.smtp_port, timeout=10) as smtp:
            smtp.send_message(message)

    async def _post(self, client: httpx.AsyncClient, row: orm.Notification) -> None:
        body = row.body.encode()
        headers = {"Content-Type": "application/json", "X-Jupyter-Ext-Event": row.event}
        if self.webhook_secret:
            headers[SIGNATURE_HEADER] = sign(self.webhook_secret, body)
        response = await client.post(self.webhook_url, content=body, headers=headers)
        if not response.is_success:
            raise RuntimeError(f"the webhook answered {response.status_code}")


def recipients(
    session: Session,
    event: str,
    workspace: orm.Workspace,
    job_request: orm.JobRequest | None = None,
    author: orm.User | None = None,
    backend: orm.Backend | None = None,
) -> list[str]:
    """The addresses `RULES` sends `event` to, each once, in a stable order."""
    people: list[orm.User] = []
    for audience in RULES[event]:
        if audience == "requester" and job_request is not None:
            if job_request.notify and workspace.notifications:
                people.append(job_request.created_by)
        elif audience == "author" and author is not None:
            if workspace.notifications:
                people.append(author)
        elif audience in STAFF:
            people += _holders(session, STAFF[audience], workspace.project_id, backend)
    return sorted({p.email for p in people if p.email})


def _holders(
    session: Session, permission: Permission, project_id: int, backend: orm.Backend | None
) -> list[orm.User]:
    """Users whose global roles, roles in this project, or roles at this site (for what
    leaves it) grant `permission`."""
    members = dict(
        session.execute(
            select(orm.ProjectMember.user_id, orm.ProjectMember.roles).where(
                orm.ProjectMember.project_id == project_id
            )
        ).all()
    )
    site = {}
    if backend is not None:
        site = dict(
            session.execute(
                select(orm.BackendMember.user_id, orm.BackendMember.roles).where(
                    orm.BackendMember.backend_id == backend.id
                )
            ).all()
        )
    users = session.scalars(select(orm.User).where(orm.User.email != "")).all()
    return [
        u for u in users if granted(u.roles, permission, members.get(u.id, ()), site.get(u.id, ()))
    ]
