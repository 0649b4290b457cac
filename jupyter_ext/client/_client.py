"""`Client` and `AsyncClient`: the same resources, sent with httpx's sync or async client.

What to ask, how to read the answer, when to try again and what a follower has
seen are decided once, in `_http`, `resources`, `events` and `download`; the two
classes here only move bytes, each its own way (the sync one runs no event loop).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import aclosing, closing
from pathlib import Path
from typing import Any

import httpx

from . import collect
from ._http import Base, Call, check_deadline, reopen_sooner, unreachable
from .base import async_client, sync_client
from .collect import Collected
from .download import Sink
from .errors import WaitTimeout, error_from
from .events import (
    CONNECTED,
    LOG_PAGE,
    LiveEvent,
    LogFollower,
    Progress,
    SSEDecoder,
    event_params,
    events_call,
    wait_params,
)
from .models import Job, JobRequest, StudyRun


class Client(Base):
    """The job server's API from a script or a notebook.

    >>> client = Client()  # inside a workspace server: configured from its environment
    >>> client = Client("https://hub.example.org/services/jobserver/", token="jxa_…")
    >>> request = client.job_requests.create(actions=["make_table"], backend="tpp")
    >>> request.wait()
    >>> for line in client.jobs.logs(request.jobs[-1], follow=True):
    ...     print(line)
    """

    _http: httpx.Client

    def _make_http(self, root: str, token: str | None, **options: Any) -> httpx.Client:
        return sync_client(root, token, **options)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _send(self, call: Call) -> Any:
        return self._retrying(call, self._http.send)

    def _retrying(self, call: Call, attempt: Callable[[httpx.Request], httpx.Response]) -> Any:
        for tries in range(self.retry.retries + 1):
            try:
                response = attempt(self._request(call))
            except httpx.TransportError as error:
                if (delay := self._delay(call, tries, error=error)) is None:
                    raise unreachable(call, error) from error
            else:
                if (delay := self._delay(call, tries, response=response)) is None:
                    return self._read(call, response)
            time.sleep(delay)
        raise AssertionError("unreachable: the last try returns or raises")

    def _iterate(self, call: Call) -> Iterator[Any]:
        while True:
            items, next_url = self._send(call)
            yield from items
            if not next_url:
                return
            call = Call("GET", next_url, parse=call.parse)

    def _events(
        self,
        params: dict,
        last_event_id: int | None = None,
        connected: bool = True,
        deadline: float | None = None,
    ) -> Iterator[LiveEvent]:
        """Events for as long as iterated; each reconnection resumes after the last one seen."""
        tries = 0
        while True:
            check_deadline(deadline)
            call, pause = events_call(params, last_event_id), self.retry.backoff
            request = self._stream_request(call, deadline)
            try:
                with closing(self._http.send(request, stream=True)) as response:
                    if response.is_error:
                        response.read()
                        if (pause := self._delay(call, tries, response=response)) is None:
                            raise error_from(response)
                    else:
                        tries = 0
                        if connected:
                            yield CONNECTED
                        decoder = SSEDecoder()
                        for line in response.iter_lines():
                            check_deadline(deadline)
                            if (event := decoder.feed(line)) is None:
                                continue
                            if event.kind == "reconnect":  # the server says we fell behind
                                pause = 0
                                break
                            last_event_id = event.id if event.id is not None else last_event_id
                            yield event
                            if reopen_sooner(deadline, request.extensions["timeout"]["read"]):
                                pause = 0
                                break
            except httpx.TransportError as error:
                check_deadline(deadline)
                if (pause := self._delay(call, tries, error=error)) is None:
                    raise unreachable(call, error) from error
            time.sleep(pause)
            tries += 1

    def _fill(self, follower: LogFollower) -> Iterator[Any]:
        """Every line `/logs` has after the last one given."""
        while True:
            lines = self._send(follower.logs_call())
            yield from follower.take(lines)
            if len(lines) < LOG_PAGE:
                return

    def _logs(self, job: str | Job, follow: bool) -> Iterator[Any]:
        if not follow:
            yield from self._fill(LogFollower(job if isinstance(job, str) else job.identifier))
            return
        job = job if isinstance(job, Job) else self.jobs.get(job)
        follower = LogFollower(job.identifier)
        params = event_params(job_request=job.job_request, kinds=("job", "log"))
        with closing(self._events(params)) as events:
            for event in events:
                missed = event is CONNECTED
                if event is CONNECTED:  # anything before this moment is read from /logs
                    follower.on_job(self.jobs.get(job.identifier).state)
                else:
                    lines, missed = follower.on_event(event)
                    yield from lines
                if missed or follower.finished:
                    yield from self._fill(follower)
                if follower.finished:
                    return

    def _wait(
        self,
        followed: str | JobRequest | StudyRun,
        timeout: float | None,
        progress: bool,
        run=False,
    ) -> JobRequest | StudyRun:
        """Follow a job request's jobs (or, with `run`, every site's of a study run) live."""
        resource = self.runs if run else self.job_requests
        if isinstance(followed, str):
            followed = resource.get(followed)
        deadline = None if timeout is None else time.monotonic() + timeout
        bar = Progress(followed, progress)
        try:
            with closing(self._events(wait_params(followed), deadline=deadline)) as events:
                for event in events:
                    if event is CONNECTED:  # what happened before is read from the request
                        bar.sync(resource.refresh(followed))
                    else:
                        bar.on_event(event)
                    if bar.done:
                        break
        except WaitTimeout:
            raise self._too_long(followed, timeout) from None
        finally:
            bar.close()
        return resource.refresh(followed)

    def _download(self, targets: list, single: bool) -> Any:
        written = []
        for file, target in targets:
            sink = Sink(file, target)

            def fetch(request: httpx.Request, sink: Sink = sink) -> httpx.Response:
                sink.start()
                with closing(self._http.send(request, stream=True)) as response:
                    if response.is_error:
                        response.read()
                    else:
                        for chunk in response.iter_bytes():
                            sink.write(chunk)
                return response

            try:
                self._retrying(self._file_call(file), fetch)
                written.append(sink.finish())
            finally:
                sink.abort()  # nothing is left of a download that failed
        return written[0] if single else written

    def _collect(self, run: str | StudyRun, folder: Path) -> Collected:
        if isinstance(run, str):
            run = self.runs.get(run)
        releases = {
            site.backend: list(self.releases.list(run.workspace, backend=site.backend))
            for site in run.sites
        }
        chosen = collect.plan(run, releases, folder)
        self._download(chosen.targets, single=False)
        chains = {file.id: self.releases.provenance(file) for _, file, _ in chosen.entries}
        return collect.finish(chosen, chains)


class AsyncClient(Base):
    """The same API for asyncio code: methods are awaited, lists and logs iterated with
    `async for`, and `await request.wait()` follows a job request without blocking the loop.
    """

    _http: httpx.AsyncClient

    def _make_http(self, root: str, token: str | None, **options: Any) -> httpx.AsyncClient:
        return async_client(root, token, **options)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _send(self, call: Call) -> Any:
        return await self._retrying(call, self._http.send)

    async def _retrying(self, call: Call, attempt: Callable) -> Any:
        for tries in range(self.retry.retries + 1):
            try:
                response = await attempt(self._request(call))
            except httpx.TransportError as error:
                if (delay := self._delay(call, tries, error=error)) is None:
                    raise unreachable(call, error) from error
            else:
                if (delay := self._delay(call, tries, response=response)) is None:
                    return self._read(call, response)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last try returns or raises")

    async def _iterate(self, call: Call) -> AsyncIterator[Any]:
        while True:
            items, next_url = await self._send(call)
            for item in items:
                yield item
            if not next_url:
                return
            call = Call("GET", next_url, parse=call.parse)

    async def _events(
        self, params: dict, last_event_id: int | None = None, connected: bool = True
    ) -> AsyncIterator[LiveEvent]:
        """Events for as long as iterated; each reconnection resumes after the last one seen."""
        tries = 0
        while True:
            call, pause = events_call(params, last_event_id), self.retry.backoff
            request = self._stream_request(call)
            try:
                response = await self._http.send(request, stream=True)
                async with aclosing(response):
                    if response.is_error:
                        await response.aread()
                        if (pause := self._delay(call, tries, response=response)) is None:
                            raise error_from(response)
                    else:
                        tries = 0
                        if connected:
                            yield CONNECTED
                        decoder = SSEDecoder()
                        async for line in response.aiter_lines():
                            if (event := decoder.feed(line)) is None:
                                continue
                            if event.kind == "reconnect":  # the server says we fell behind
                                pause = 0
                                break
                            last_event_id = event.id if event.id is not None else last_event_id
                            yield event
            except httpx.TransportError as error:
                if (pause := self._delay(call, tries, error=error)) is None:
                    raise unreachable(call, error) from error
            await asyncio.sleep(pause)
            tries += 1

    async def _fill(self, follower: LogFollower) -> AsyncIterator[Any]:
        while True:
            lines = await self._send(follower.logs_call())
            for line in follower.take(lines):
                yield line
            if len(lines) < LOG_PAGE:
                return

    async def _logs(self, job: str | Job, follow: bool) -> AsyncIterator[Any]:
        if not follow:
            async for line in self._fill(
                LogFollower(job if isinstance(job, str) else job.identifier)
            ):
                yield line
            return
        job = job if isinstance(job, Job) else await self.jobs.get(job)
        follower = LogFollower(job.identifier)
        params = event_params(job_request=job.job_request, kinds=("job", "log"))
        async with aclosing(self._events(params)) as events:
            async for event in events:
                missed = event is CONNECTED
                if event is CONNECTED:  # anything before this moment is read from /logs
                    follower.on_job((await self.jobs.get(job.identifier)).state)
                else:
                    lines, missed = follower.on_event(event)
                    for line in lines:
                        yield line
                if missed or follower.finished:
                    async for line in self._fill(follower):
                        yield line
                if follower.finished:
                    return

    async def _wait(
        self,
        followed: str | JobRequest | StudyRun,
        timeout: float | None,
        progress: bool,
        run=False,
    ) -> JobRequest | StudyRun:
        resource = self.runs if run else self.job_requests
        if isinstance(followed, str):
            followed = await resource.get(followed)
        bar = Progress(followed, progress)
        try:
            async with (
                asyncio.timeout(timeout),
                aclosing(self._events(wait_params(followed))) as events,
            ):
                async for event in events:
                    if event is CONNECTED:
                        bar.sync(await resource.refresh(followed))
                    else:
                        bar.on_event(event)
                    if bar.done:
                        break
        except TimeoutError:
            raise self._too_long(followed, timeout) from None
        finally:
            bar.close()
        return await resource.refresh(followed)

    async def _download(self, targets: list, single: bool) -> Any:
        written = []
        for file, target in targets:
            sink = Sink(file, target)

            async def fetch(request: httpx.Request, sink: Sink = sink) -> httpx.Response:
                sink.start()
                response = await self._http.send(request, stream=True)
                async with aclosing(response):
                    if response.is_error:
                        await response.aread()
                    else:
                        async for chunk in response.aiter_bytes():
                            sink.write(chunk)
                return response

            try:
                await self._retrying(self._file_call(file), fetch)
                written.append(sink.finish())
            finally:
                sink.abort()
        return written[0] if single else written

    async def _collect(self, run: str | StudyRun, folder: Path) -> Collected:
        if isinstance(run, str):
            run = await self.runs.get(run)
        releases = {
            site.backend: [r async for r in self.releases.list(run.workspace, backend=site.backend)]
            for site in run.sites
        }
        chosen = collect.plan(run, releases, folder)
        await self._download(chosen.targets, single=False)
        chains = {file.id: await self.releases.provenance(file) for _, file, _ in chosen.entries}
        return collect.finish(chosen, chains)
