"""The one upload flow of a file the site sends: published (to release) or under review.

A runner sends a file's frozen bytes when the heartbeat asks: GET says how many bytes the
job server holds, a PUT goes on from there (`Content-Range`), one upload at a time (the
lease, `upload_leases.py`), and the whole must hash to the frozen sha256, or it is refused,
deleted and audited. Its bytes wait in a partial file of their own until the whole file has
come. The site may refuse to send a file, with its reason. What differs between published
files and review copies (which rule lets a file be sent, which columns say it has come or
was refused, where its bytes go, the audit actions, the sentences) is a `Purpose`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from pathlib import Path

from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker

from .. import schema
from . import orm
from .audit import record
from .errors import ProblemError
from .events import emit_release
from .release_store import stored_path
from .review_copies import review_partial, review_path, under_review
from .upload_leases import Held, holding

CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+)")


@dataclass(frozen=True)
class Purpose:
    """What an upload is for. Audit actions: `action` when the bytes are stored,
    `action.refused` when they do not match, `action_refused` when the site refuses."""

    name: str  # as the runner says it (`schema.ReleaseUpload.purpose`); its routes' folder
    may_send: Callable[[orm.ReleaseFile], bool]
    not_sendable: str  # 409 when `may_send` says no
    uploaded_column: str  # of orm.ReleaseFile: when the whole file came and matched
    refused_column: str  # of orm.ReleaseFile: the site's reason for not sending it
    stored: Callable[[str, str], Path]  # (release_dir, sha256): where the bytes are kept
    partial: Callable[[str, str], Path]  # (release_dir, file_id): where they wait
    action: str
    announce_refusal: bool  # whether the site's refusal is an event on the release
    refused: str  # 409 once the site refused, with {reason}
    replay: str  # 409 to a PUT of a file that has come
    came_meanwhile: str  # 409 to a PUT that waited while another finished
    too_late_to_refuse: str  # 409 to a refusal of a file that has come

    def uploaded(self, row: orm.ReleaseFile) -> bool:
        return getattr(row, self.uploaded_column) is not None

    def refusal(self, row: orm.ReleaseFile) -> str | None:
        return getattr(row, self.refused_column)


def _release_partial(release_dir: str, file_id: str) -> Path:
    return Path(release_dir) / "partial" / file_id


RELEASE = Purpose(
    name="release",
    may_send=lambda row: row.state == "released",
    not_sendable="the file is not published: it may not leave the backend",
    uploaded_column="uploaded_at",
    refused_column="upload_refused",
    stored=stored_path,
    partial=_release_partial,
    action="release_file.upload",
    announce_refusal=False,
    refused="the site refused to send this file ({reason}): it can no longer be uploaded",
    replay="the file has been uploaded already: released files never change",
    came_meanwhile="the file has been uploaded already: it never changes",
    too_late_to_refuse="the file has been uploaded already: it can no longer be refused",
)

REVIEW = Purpose(
    name="review",
    may_send=under_review,
    not_sendable="the file is not under review: it is not sent for review",
    uploaded_column="review_uploaded_at",
    refused_column="review_refused",
    stored=review_path,
    partial=review_partial,
    action="release_file.review_upload",
    announce_refusal=True,  # the checkers see why there is no copy to read
    refused="the site refused to send this file ({reason})",
    replay="the file has been sent for review already: it never changes",
    came_meanwhile="the file has been sent for review already",
    too_late_to_refuse="the file has been sent for review already",
)


def sendable(
    session: Session, backend: orm.Backend, file_id: str, purpose: Purpose
) -> orm.ReleaseFile:
    """The backend's file, if `purpose` lets it be sent; else 404 or 409."""
    row = session.get(orm.ReleaseFile, file_id)
    if row is None or row.release.backend_id != backend.id:
        raise ProblemError(404, f"the backend {backend.slug} has no release file {file_id!r}")
    if not purpose.may_send(row):
        raise ProblemError(409, purpose.not_sendable)
    return row


def held_bytes(partial: Path, size: int, uploaded: bool) -> int:
    """Bytes of the file the server holds: all of them once uploaded, else what has come."""
    if uploaded:
        return size
    try:
        return partial.stat().st_size
    except FileNotFoundError:
        return 0


def progress(
    session: Session, backend: orm.Backend, file_id: str, purpose: Purpose, release_dir: str
) -> schema.ReleaseFileState:
    """How much of the file the server holds, for an interrupted upload to go on from."""
    row = sendable(session, backend, file_id, purpose)
    uploaded = purpose.uploaded(row)
    received = held_bytes(purpose.partial(release_dir, file_id), row.size, uploaded)
    return schema.ReleaseFileState(
        received=received, size=row.size, sha256=row.sha256, uploaded=uploaded
    )


def refuse(
    session: Session, backend: orm.Backend, file_id: str, reason: str, purpose: Purpose
) -> None:
    """The site will not send the file: kept with its reason, audited, no longer asked for.
    A repeat changes nothing; the first reason stays."""
    row = sendable(session, backend, file_id, purpose)
    if purpose.uploaded(row):
        raise ProblemError(409, purpose.too_late_to_refuse)
    if purpose.refusal(row) is None:
        column = purpose.refused_column
        setattr(row, column, reason)
        record(
            session,
            f"runner:{backend.slug}",
            f"{purpose.action}_refused",
            row,
            {column: None},
            {column: reason},
        )
        if purpose.announce_refusal:
            emit_release(session, row.release)
        session.commit()


def start_at(content_range: str | None, held: int, size: int) -> int:
    """Where the bytes of a PUT begin: 0 without Content-Range (it starts over), else START,
    which must be where the bytes held end (or 0 if they are the whole file: it starts over)."""
    if content_range is None:
        return 0
    match = CONTENT_RANGE.fullmatch(content_range.strip())
    if match is None or (int(match[2]), int(match[3])) != (size - 1, size):
        raise ProblemError(
            422, f"Content-Range must be 'bytes START-{size - 1}/{size}': the rest of the file"
        )
    start, expected = int(match[1]), held if held < size else 0
    if start != expected:
        raise ProblemError(
            409,
            f"the upload must go on from byte {expected}, not {start}",
            errors=[{"field": "Content-Range", "expected": expected}],
        )
    return start


async def write_part(
    chunks: AsyncIterable[bytes], partial: Path, start: int, size: int, held: Held
) -> int:
    """Write the chunks into the partial file from byte `start`; the bytes that came in all.

    Never more than `size` are kept: past it the rest is left unread. Nothing is written
    once this upload's lease is lost to another."""
    partial.parent.mkdir(parents=True, exist_ok=True)
    received = start
    with partial.open("ab" if start else "wb") as part:
        async for chunk in chunks:
            received += len(chunk)
            if received > size:
                break  # more than the frozen file: it cannot match
            held.check()
            part.write(chunk)
    return received


def sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def frozen(
    session: Session, backend: orm.Backend, file_id: str, purpose: Purpose
) -> tuple[str, int, bool]:
    """The file's frozen sha256 and size, and whether it has come; 409 once refused."""
    row = sendable(session, backend, file_id, purpose)
    if (reason := purpose.refusal(row)) is not None:
        raise ProblemError(409, purpose.refused.format(reason=reason))
    return row.sha256, row.size, purpose.uploaded(row)


def record_mismatch(
    session: Session,
    backend: orm.Backend,
    file_id: str,
    received: int,
    sha256: str | None,
    purpose: Purpose,
) -> None:
    row = session.get(orm.ReleaseFile, file_id)
    after = {"received_bytes": received, "sha256": sha256}
    record(session, f"runner:{backend.slug}", f"{purpose.action}.refused", row, after=after)
    session.commit()


def keep(
    session: Session,
    backend: orm.Backend,
    file_id: str,
    partial: Path,
    sha256: str,
    purpose: Purpose,
    release_dir: str,
) -> None:
    """Move the checked bytes into place, by their hash, and record that the file has come."""
    target = purpose.stored(release_dir, sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, target)
    row = session.get(orm.ReleaseFile, file_id)
    if not purpose.uploaded(row):
        setattr(row, purpose.uploaded_column, orm.utcnow())
        record(session, f"runner:{backend.slug}", purpose.action, row, after={"sha256": sha256})
        emit_release(session, row.release)
        session.commit()


BackendOf = Callable[[Session], orm.Backend]  # the caller's backend, asked in each session


async def receive(
    factory: sessionmaker,
    backend_of: BackendOf,
    file_id: str,
    purpose: Purpose,
    chunks: AsyncIterable[bytes],
    content_range: str | None,
    release_dir: str,
    lease: dt.timedelta,
) -> None:
    """Take the streamed bytes of the file and keep them if they hash to what was frozen.

    The bytes of an interrupted stream stay in the partial file for the next PUT (whatever
    `chunks` raises when its caller hangs up goes on to the caller)."""

    async def in_session(step, *args):
        def run():
            with factory() as session:
                return step(session, backend_of(session), file_id, *args)

        return await run_in_threadpool(run)

    sha256, size, uploaded = await in_session(frozen, purpose)
    if uploaded:  # a replay: the bytes are immutable and nothing is read
        raise ProblemError(409, purpose.replay)
    partial = purpose.partial(release_dir, file_id)
    async with holding(factory, file_id, lease) as held:
        if (await in_session(frozen, purpose))[2]:  # done while it waited
            raise ProblemError(409, purpose.came_meanwhile)
        start = start_at(content_range, held_bytes(partial, size, False), size)
        received = await write_part(chunks, partial, start, size, held)
        digest = await run_in_threadpool(sha256_of, partial) if received == size else None
        await held.confirm()  # still this upload's: no other has begun on the partial file
        if digest != sha256:
            partial.unlink(missing_ok=True)
            await in_session(record_mismatch, received, digest, purpose)
            raise ProblemError(
                422,
                f"the upload does not match the frozen file ({size} bytes, "
                f"sha256 {sha256[:12]}…): the file changed on the site",
            )
        await in_session(keep, partial, sha256, purpose, release_dir)
