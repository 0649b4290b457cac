"""The job server's runner endpoints, as a small client (the runner's only way out).

It opens its connection with the client's HTTP base and raises its exception tree
(`jupyter_ext.client.errors`: `JobServerError` and its `Conflict`, `Forbidden`, ...,
with `.status` and the server's `.detail`). While the job server is away it keeps
trying for `retry_for` seconds; after that the transport's own `httpx` error is raised.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import quote

import httpx
import pydantic

from .. import schema
from ..client.base import async_client, checked
from ..client.errors import JobServerError

__all__ = ["JobServerAPI", "JobServerError"]
log = logging.getLogger("jupyter_ext.runner.api")
RETRY_STATUSES = (502, 503, 504)  # a proxy's "the job server is away": nothing was done


class JobServerAPI:
    def __init__(
        self, url: str, token: str, timeout: float = 30.0, retry_for: float = 600.0
    ) -> None:
        self.retry_for = retry_for  # how long to keep trying while the job server is away
        self.http = async_client(
            url,
            token,
            under="api/v1/runner/",
            timeout=httpx.Timeout(timeout, read=timeout + 60),
            agent="jupyter-ext-runner",
        )

    async def _post(self, path: str, body: schema.Model) -> httpx.Response:
        """Every runner call is safe to repeat (logs carry sequence numbers, a repeated state
        changes nothing), so while the job server is away the call waits and tries again."""
        content = body.model_dump_json()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.retry_for
        delay = 0.2
        while True:
            try:
                response = await self.http.post(
                    path, content=content, headers={"Content-Type": "application/json"}
                )
                if response.status_code not in RETRY_STATUSES or loop.time() > deadline:
                    break
            except httpx.TransportError:
                if loop.time() + delay > deadline:
                    raise
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
        return checked(response)

    async def poll(self, capacity: int, wait: float) -> list[schema.Lease]:
        """The leases handed over; one that is not a lease at all is logged and left (the
        runner cannot even say which job it was), so a bad one cannot stop the runner."""
        response = await self._post("poll", schema.Poll(capacity=capacity, wait=wait))
        try:
            items = response.json()
        except ValueError:
            items = None
        if not isinstance(items, list):
            log.error("the job server answered a poll with something other than a list")
            return []
        leases = []
        for item in items[:capacity]:
            try:
                leases.append(schema.Lease.model_validate(item))
            except pydantic.ValidationError as exc:
                log.error("the job server sent a lease that is not one, left: %s", exc)
        return leases

    async def heartbeat(self, beat: schema.Heartbeat) -> schema.HeartbeatReply:
        return schema.HeartbeatReply.model_validate((await self._post("heartbeat", beat)).json())

    async def status(self, identifier: str, update: schema.StatusUpdate) -> None:
        await self._post(f"jobs/{segment(identifier)}/status", update)

    async def logs(self, identifier: str, batch: schema.LogBatch) -> None:
        await self._post(f"jobs/{segment(identifier)}/logs", batch)

    async def outputs(self, identifier: str, report: schema.OutputsReport) -> None:
        await self._post(f"jobs/{segment(identifier)}/outputs", report)

    async def close(self) -> None:
        await self.http.aclose()

    async def release_file_state(
        self, file_id: str, purpose: str = "release"
    ) -> schema.ReleaseFileState:
        """How much of a release file the job server holds (an upload goes on from there)."""
        url = f"{FILES[purpose]}/{segment(file_id)}"
        response = checked(await self.http.get(url))
        return schema.ReleaseFileState.model_validate(response.json())

    async def refuse_release_file(
        self, file_id: str, refusal: schema.UploadRefusal, purpose: str = "release"
    ) -> None:
        """The site will not send the file (it changed, or the rules refuse it), saying why."""
        await self._post(f"{FILES[purpose]}/{segment(file_id)}/refusal", refusal)

    async def upload_release_file(
        self, file_id: str, path: Path, start: int, size: int, purpose: str = "release"
    ) -> None:
        """Stream bytes `start`..`size` of the file; from 0 the server starts over, else it
        appends them to the bytes it holds (Content-Range)."""
        headers = {"Content-Type": "application/octet-stream"}
        if start:
            headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
        content = read_chunks(path, start, size - start)
        url = f"{FILES[purpose]}/{segment(file_id)}"
        response = await self.http.put(url, content=content, headers=headers)
        checked(response)

    # -- datasets (`jupyter ext runner dataset ...`) -----------------------------------------

    async def register_dataset(self, body: schema.DatasetRegistration) -> schema.Dataset:
        """A dataset of the backend, or its new version: only its manifests leave the site."""
        return schema.Dataset.model_validate((await self._post("datasets", body)).json())

    async def retire_dataset(self, name: str) -> schema.Dataset:
        response = checked(await self.http.post(f"datasets/{segment(name)}/retire"))
        return schema.Dataset.model_validate(response.json())

    async def upload_dummy(
        self, name: str, version: int, relative: str, path: Path, size: int
    ) -> None:
        """One file of a dataset version's dummy data, streamed (its sha256 checked there)."""
        url = f"datasets/{segment(name)}/versions/{version}/dummy/{quote(relative, safe='/')}"
        headers = {"Content-Type": "application/octet-stream"}
        content = read_chunks(path, 0, size)
        checked(await self.http.put(url, content=content, headers=headers))


# where the bytes of a file go: published ones, and those sent for the output checkers
FILES = {"release": "release-files", "review": "review-files"}


def segment(value: str) -> str:
    """`value` as one segment of a URL path: '/' and '.' escaped too, so that a name from a
    lease or a heartbeat cannot climb to another of the job server's endpoints."""
    return quote(value, safe="").replace(".", "%2E")


async def read_chunks(path: Path, start: int, length: int, chunk: int = 1 << 20):
    """`length` bytes of the file from `start`, 1 MiB at a time, read off the event loop."""
    with path.open("rb") as f:
        f.seek(start)
        while length > 0 and (data := await asyncio.to_thread(f.read, min(chunk, length))):
            length -= len(data)
            yield data
