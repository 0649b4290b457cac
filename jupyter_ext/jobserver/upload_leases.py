"""One upload of a released file at once, whichever job server process takes it.

Several job server processes may serve one database (PostgreSQL), so the guard is a
row in it (`orm.UploadLease`), not a set in a process. A PUT takes the file's lease
with one INSERT (or, if the lease there has expired, one conditional UPDATE): the
database lets only one win. The holder renews it while it reads and hashes; a
process that died mid-upload stops holding it when it expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
from collections.abc import AsyncIterator

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from . import orm
from .errors import ProblemError

UNDER_WAY = "an upload of this file is under way already"


def take(factory: sessionmaker, file_id: str, ttl: dt.timedelta) -> str | None:
    """Hold the file's lease: a name of this holder, or None if another holds it."""
    holder, now = secrets.token_hex(16), orm.utcnow()
    with factory() as session:
        session.add(orm.UploadLease(file_id=file_id, holder=holder, expires_at=now + ttl))
        try:
            session.commit()
            return holder
        except IntegrityError:  # held, by a live upload or one whose process died
            session.rollback()
        taken = session.execute(
            update(orm.UploadLease)
            .where(orm.UploadLease.file_id == file_id, orm.UploadLease.expires_at < now)
            .values(holder=holder, expires_at=now + ttl)
        ).rowcount
        session.commit()
        return holder if taken else None


def renew(factory: sessionmaker, file_id: str, holder: str, ttl: dt.timedelta) -> bool:
    """Hold it `ttl` longer; False if it is no longer this holder's."""
    with factory() as session:
        renewed = session.execute(
            update(orm.UploadLease)
            .where(orm.UploadLease.file_id == file_id, orm.UploadLease.holder == holder)
            .values(expires_at=orm.utcnow() + ttl)
        ).rowcount
        session.commit()
        return bool(renewed)


def give_back(factory: sessionmaker, file_id: str, holder: str) -> None:
    with factory() as session:
        session.execute(
            delete(orm.UploadLease).where(
                orm.UploadLease.file_id == file_id, orm.UploadLease.holder == holder
            )
        )
        session.commit()


class Held:
    """A lease this PUT holds, renewed in the background; `check()` before each write."""

    def __init__(self, factory: sessionmaker, file_id: str, holder: str, ttl: dt.timedelta):
        self.factory, self.file_id, self.holder, self.ttl = factory, file_id, holder, ttl
        self.lost = False

    async def keep(self) -> None:
        while not self.lost:
            await asyncio.sleep(self.ttl.total_seconds() / 3)
            with contextlib.suppress(Exception):  # a database blip: try again next time
                self.lost = not await run_in_threadpool(
                    renew, self.factory, self.file_id, self.holder, self.ttl
                )

    def check(self) -> None:
        if self.lost:
            raise ProblemError(
                409,
                "this upload took too long to report and another took "
                "its place: go on from the bytes the server holds",
            )

    async def confirm(self) -> None:
        """Renew now, before what cannot be undone (storing the file)."""
        renewed = await run_in_threadpool(renew, self.factory, self.file_id, self.holder, self.ttl)
        self.lost = self.lost or not renewed
        self.check()


@contextlib.asynccontextmanager
async def holding(factory: sessionmaker, file_id: str, ttl: dt.timedelta) -> AsyncIterator[Held]:
    """The file's lease for the length of the block; 409 if another upload holds it."""
    holder = await run_in_threadpool(take, factory, file_id, ttl)
    if holder is None:
        raise ProblemError(409, UNDER_WAY)
    held = Held(factory, file_id, holder, ttl)
    keeper = asyncio.create_task(held.keep())
    try:
        yield held
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
        await run_in_threadpool(give_back, factory, file_id, holder)
