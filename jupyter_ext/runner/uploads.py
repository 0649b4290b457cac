"""Upload published release files from the site: checked, streamed, resumed after a break.

The job server lists, on each heartbeat, the published files it has not yet
received. Each is sent from the workspace's folder on the site only if it is
still the file that was frozen (same size and sha256, a regular file inside
the workspace folder); the server says how many bytes it holds already, and
the upload goes on from there, so a break costs only what was in flight.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import httpx

from .. import schema
from .api import JobServerAPI, JobServerError
from .hashing import sha256_file

log = logging.getLogger("jupyter_ext.runner.uploads")
RETRYABLE = {409, 502, 503, 504}  # a wrong offset or an upload still in flight: ask again


class Uploader:
    attempts = 5  # per file, then it waits for a later heartbeat to list it again
    backoff = 1.0  # seconds before the second attempt, doubling after each

    def __init__(self, api: JobServerAPI, workspaces: Path, at_once: int = 4) -> None:
        self.api, self.workspaces = api, Path(workspaces)
        self.tasks: dict[str, asyncio.Task] = {}  # file id -> its upload, while it runs
        self.done: set[str] = set()  # uploaded, or never to be sent by this runner
        self.slots = asyncio.Semaphore(at_once)

    def want(self, uploads: list[schema.ReleaseUpload]) -> None:
        """Start uploading each listed file not already on its way or settled."""
        for upload in uploads:
            if upload.file not in self.tasks and upload.file not in self.done:
                task = asyncio.create_task(self._upload(upload))
                self.tasks[upload.file] = task
                task.add_done_callback(lambda _, file=upload.file: self.tasks.pop(file, None))

    async def close(self) -> None:
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _upload(self, upload: schema.ReleaseUpload) -> None:
        async with self.slots:
            problem, path = await asyncio.to_thread(self.check, upload)
            if problem:
                log.warning("release file %s (%s) is not uploaded: %s", upload.path, upload.file,
                            problem)  # fmt: skip
                self.done.add(upload.file)
                return
            try:
                await self._send(upload, path)
            except (httpx.HTTPError, OSError, JobServerError) as exc:
                if isinstance(exc, JobServerError) and exc.status not in RETRYABLE:
                    log.warning("the job server refused release file %s: %s", upload.path, exc)
                    self.done.add(upload.file)  # unpublished, or the bytes did not match
                else:
                    log.warning("uploading release file %s failed, to try again later: %s",
                                upload.path, exc)  # fmt: skip
                return
            self.done.add(upload.file)

    def check(self, upload: schema.ReleaseUpload) -> tuple[str | None, Path]:
        """(None, the file) if the file on the site is the one frozen, else (what is wrong, it)."""
        folder = self.workspaces / upload.workspace
        path = (folder / upload.path).resolve()
        if upload.workspace in ("", ".", "..") or Path(upload.workspace).name != upload.workspace:
            return f"{upload.workspace!r} is not a workspace name", path
        if not path.is_relative_to(folder.resolve()):
            return f"it is not inside the workspace folder {folder}", path
        if not path.is_file():
            return f"{path} is missing or not a regular file", path
        changed = f"{path} changed on the site since it was frozen:"
        size = path.stat().st_size
        if size != upload.size:
            return f"{changed} it has {size} bytes, {upload.size} when frozen", path
        if sha256_file(path) != upload.sha256:
            return f"{changed} its sha256 is not the frozen {upload.sha256[:12]}…", path
        return None, path

    async def _send(self, upload: schema.ReleaseUpload, path: Path) -> None:
        """Ask how much the server holds, send the rest; after a break, again from there."""
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                state = await self.api.release_file_state(upload.file)
                if state.uploaded:
                    return
                start = state.received if state.received < upload.size else 0
                await self.api.upload_release_file(upload.file, path, start, upload.size)
                log.info("release file %s uploaded (from byte %d)", upload.path, start)
                return
            except (httpx.TransportError, JobServerError) as exc:
                if attempt == self.attempts or (
                    isinstance(exc, JobServerError) and exc.status not in RETRYABLE
                ):
                    raise
                log.info("upload of %s broke off (%s); going on in %.0f s", upload.path, exc,
                         delay)  # fmt: skip
            await asyncio.sleep(delay)
            delay *= 2
