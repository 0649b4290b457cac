"""Upload release files from the site: checked, streamed, resumed after a break.

The job server lists, on each heartbeat, the published files it has not yet
received, and the files under review whose bytes its output checkers have not
yet got (`purpose` "review": kept apart there, read only by the checkers). Both
go through the same checks; a file is uploaded once for each purpose. The site
trusts its own records, not the list: a file leaves only if the site recorded it
as a moderately sensitive output of that job with that sha256, and then its
bytes come from the site's content-addressed store, so a later run that
overwrote the workspace folder's copy changes nothing. (Jobs run before the site
kept records are sent from the workspace folder, if the file there is still the
one frozen.) The site's release rules, run again, must not refuse it; the server
says how many bytes it holds already, and the upload goes on from there, so a
break costs only what was in flight. A file that is there but may not leave is
refused to the job server, saying why, and never tried again. A site that keeps
every file until it is published (`c.RunnerApp.review_copies = False`) refuses
each review copy so, and its checkers judge by what the site reports.
"""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import httpx

from .. import schema
from ..pipeline import Outputs, match_outputs
from ..schema import Verdict, check_file
from .api import JobServerAPI, JobServerError
from .hashing import sha256_file
from .paths import PathEscape, inside, safe_name, safe_relative
from .provenance import Store, read_site_record

log = logging.getLogger("jupyter_ext.runner.uploads")
RETRYABLE = {409, 502, 503, 504}  # a wrong offset or an upload still in flight: ask again
JOB_IDENTIFIER = re.compile(r"[a-z0-9]{1,64}")
KEEPS_REVIEW = (
    "this site keeps files under review until they are published: judge this one by its "
    "size, hash, rows, columns and the rules' findings"
)


class Uploader:
    attempts = 5  # per file, then it waits for a later heartbeat to list it again
    backoff = 1.0  # seconds before the second attempt, doubling after each

    def __init__(
        self,
        api: JobServerAPI,
        workspaces: Path,
        rules: schema.ReleaseRules | None = None,
        at_once: int = 4,
        site: Path | None = None,
        review_copies: bool = True,
    ) -> None:
        self.api, self.workspaces = api, Path(workspaces)
        self.site = Path(site) if site is not None else None  # its records and store
        self.rules = rules or schema.ReleaseRules()
        # (purpose, file id) -> its upload, while it runs
        self.tasks: dict[tuple[str, str], asyncio.Task] = {}
        self.done: set[tuple[str, str]] = set()  # uploaded, or never to be sent by this runner
        self.slots = asyncio.Semaphore(at_once)
        self.review_copies = review_copies  # off: files under review stay until published

    def want(self, uploads: list[schema.ReleaseUpload]) -> None:
        """Start uploading each listed file not already on its way or settled."""
        for upload in uploads:
            key = (upload.purpose, upload.file)
            if key not in self.tasks and key not in self.done:
                task = asyncio.create_task(self._upload(upload))
                self.tasks[key] = task
                task.add_done_callback(lambda _, key=key: self.tasks.pop(key, None))

    async def close(self) -> None:
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _upload(self, upload: schema.ReleaseUpload) -> None:
        key = (upload.purpose, upload.file)
        async with self.slots:
            if upload.purpose == "review" and not self.review_copies:
                await self._refuse(upload, KEEPS_REVIEW)
                return
            problem, path = await asyncio.to_thread(self.check, upload)
            if problem:
                log.warning(
                    "release file %s (%s, %s on the site) is not uploaded: %s",
                    upload.path,
                    upload.file,
                    path,
                    problem,
                )
                if path.is_file():  # there, but not to leave: a missing one may come back
                    await self._refuse(upload, problem)
                else:
                    self.done.add(key)
                return
            try:
                await self._send(upload, path)
            except (httpx.HTTPError, OSError, JobServerError) as exc:
                if isinstance(exc, JobServerError) and exc.status not in RETRYABLE:
                    log.warning("the job server refused release file %s: %s", upload.path, exc)
                    self.done.add(key)  # unpublished, or the bytes did not match
                else:
                    log.warning(
                        "uploading release file %s failed, to try again later: %s", upload.path, exc
                    )
                return
            self.done.add(key)

    def check(self, upload: schema.ReleaseUpload) -> tuple[str | None, Path]:
        """(None, the file) if it may leave, else (why not, it). What is wrong is said of the
        file, never of the site's folders: the job server keeps the sentence."""
        problem, path = self._recorded(upload) or self._frozen(upload)
        return problem or self._refused_by_rules(upload, path), path

    def _recorded(self, upload: schema.ReleaseUpload) -> tuple[str | None, Path] | None:
        """What the site's own record of the job says of the file, and its bytes in the
        store; None for a job the site kept no record of."""
        if self.site is None or not JOB_IDENTIFIER.fullmatch(upload.job):
            return None
        try:
            lease, provenance = read_site_record(self.site / "provenance", upload.job)
        except FileNotFoundError:
            return None
        store = Store(self.site / "store")
        kept = store.path(upload.sha256)
        made = {o.path: o.sha256 for o in provenance.outputs}
        if made.get(upload.path) != upload.sha256:
            return (
                f"the site recorded no output {upload.path} with sha256 "
                f"{upload.sha256[:12]}… for job {upload.job}",
                kept,
            )
        matched = match_outputs(Outputs(lease.outputs), {upload.path}).matched
        level = matched[upload.path][0] if upload.path in matched else "undeclared"
        if level != "moderately_sensitive":
            return f"the site recorded it as {level}: only moderately sensitive outputs leave", kept
        return store.problem(upload.sha256), kept

    def _frozen(self, upload: schema.ReleaseUpload) -> tuple[str | None, Path]:
        """(None, the file) if the file on the site is the one frozen, else (what is wrong, it)."""
        try:
            folder = inside(self.workspaces, safe_name(upload.workspace, "the workspace"))
        except PathEscape as exc:
            return str(exc), self.workspaces / ".refused"
        try:
            path = inside(folder, safe_relative(upload.path, "the file"))
        except PathEscape:
            return "it leads out of the workspace folder on the site", folder / ".refused"
        if not path.is_file():
            return "it is missing on the site, or not a regular file", path
        changed = "it changed on the site since it was frozen:"
        size = path.stat().st_size
        if size != upload.size:
            return f"{changed} it has {size} bytes, {upload.size} when frozen", path
        if sha256_file(path) != upload.sha256:
            return f"{changed} its sha256 is not the frozen {upload.sha256[:12]}…", path
        return None, path

    def _refused_by_rules(self, upload: schema.ReleaseUpload, path: Path) -> str | None:
        """The site's rules, run again: they may be tighter now than when it was requested."""
        found = check_file(path, self.rules, upload.path, summary=False).findings
        refusing = [f.message for f in found if f.verdict is Verdict.REFUSE]
        return f"the site's release rules refuse it: {'; '.join(refusing)}" if refusing else None

    async def _refuse(self, upload: schema.ReleaseUpload, reason: str) -> None:
        """Tell the job server the file will never leave, so that it stops listing it; if the
        job server cannot be told now, the next heartbeat's list brings it here again."""
        refusal = schema.UploadRefusal(reason=reason[:2000])
        try:
            await self.api.refuse_release_file(upload.file, refusal, upload.purpose)
        except JobServerError as exc:  # it moved on (uploaded, or no longer published)
            log.warning("the job server did not take the refusal of %s: %s", upload.path, exc)
        except httpx.HTTPError as exc:
            log.warning("the refusal of %s is to be sent again: %s", upload.path, exc)
            return
        self.done.add((upload.purpose, upload.file))

    async def _send(self, upload: schema.ReleaseUpload, path: Path) -> None:
        """Ask how much the server holds, send the rest; after a break, again from there."""
        delay = self.backoff
        for attempt in range(1, self.attempts + 1):
            try:
                state = await self.api.release_file_state(upload.file, upload.purpose)
                if state.uploaded:
                    return
                start = state.received if state.received < upload.size else 0
                await self.api.upload_release_file(
                    upload.file, path, start, upload.size, upload.purpose
                )
                done = "uploaded" if upload.purpose == "release" else "sent for review"
                log.info("release file %s %s (from byte %d)", upload.path, done, start)
                return
            except (httpx.TransportError, JobServerError) as exc:
                if attempt == self.attempts or (
                    isinstance(exc, JobServerError) and exc.status not in RETRYABLE
                ):
                    raise
                log.info("upload of %s broke off (%s); going on in %.0f s", upload.path, exc, delay)
            await asyncio.sleep(delay)
            delay *= 2
