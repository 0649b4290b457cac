"""Request bodies are bounded before anyone is authenticated: pure ASGI middleware.

It sits in front of routing and authentication, so a caller with no token at all
cannot make the server read (or hold) more than the limit of the kind of route
asked: small for JSON and forms, larger for a runner's log batches and outputs
reports, and its own for the bytes of a released file (streamed to disk, never
held). The limit is checked on `Content-Length` before a byte is read, and again
while the body streams in (a chunked body has no length).

Over the limit the answer is 413 `application/problem+json` with a sentence. A
little more of the body is read and dropped, so that an ordinary client, which
sends all before it reads, sees that answer; past that the connection is closed.
JSON and report bodies are read whole (they are small) before any route runs, so
every such route answers 413 alike, whether it reads its body or not; an upload is
counted as the route streams it. One refused before it was read (a caller without
a token) ends the connection, so the server never drains an endless body; one that
succeeds unread (bytes the server already holds) has the rest read and dropped
within the route's limit, so that its sender sees the success.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from .errors import problem_response

MIB = 1 << 20
DRAIN = 8 * MIB  # read and dropped past the limit, so that the client sees the 413
CLOSE = (b"connection", b"close")


# (method, path after the API's prefix) -> kind; anything else is "json"
KINDS = [
    ("PUT", re.compile(r"/api/v1/runner/release-files/[^/]+"), "upload"),
    ("PUT", re.compile(r"/api/v1/runner/datasets/[^/]+/versions/[^/]+/dummy/.+"), "upload"),
    ("POST", re.compile(r"/api/v1/runner/jobs/[^/]+/(logs|outputs)"), "runner_report"),
    ("POST", re.compile(r"/api/v1/runner/datasets(/[^/]+)*"), "runner_report"),
]
WHAT = {
    "json": "a request body",
    "runner_report": "a runner's report",
    "upload": "an upload",
}
TRAIT = {  # the trait of JobServerApp that bounds each kind (see its help)
    "json": "max_json_body",
    "runner_report": "max_runner_report_body",
    "upload": "max_upload_body",
}


def kind_of(method: str, path: str, prefix: str) -> str:
    """The kind of route a request goes to, from its method and path alone."""
    inner = path[len(prefix) :] if prefix and path.startswith(prefix) else path
    for wanted, pattern, kind in KINDS:
        if method == wanted and pattern.fullmatch(inner):
            return kind
    return "json"


def _size(n: int) -> str:
    for unit, name in ((1 << 30, "GiB"), (MIB, "MiB"), (1024, "KiB")):
        if n >= unit and n % unit == 0:
            return f"{n // unit} {name}"
    return f"{n} bytes"


class TooLarge(Exception):
    """Raised into the route that reads past the limit; the middleware answers 413."""


class LimitBodies:
    """ASGI middleware: answer 413 to a body over its route's limit, before any route runs.

    `limits` is the configured `JobServerApp` (anything with its `max_*_body` traits)."""

    def __init__(self, app: Any, limits: Any, prefix: str = "") -> None:
        self.app, self.limits, self.prefix = app, limits, prefix.rstrip("/")

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = kind_of(scope["method"], scope["path"], self.prefix)
        limit = getattr(self.limits, TRAIT[kind])
        await _Limited(self.app, scope, receive, send, kind, limit).run()


class _Limited:
    """One request: counts what comes in, answers 413 once, drops what the route sends after."""

    def __init__(self, app, scope, receive, send, kind: str, limit: int) -> None:
        self.app, self.scope, self.receive, self.send = app, scope, receive, send
        self.kind, self.limit = kind, limit
        headers = dict(scope.get("headers") or [])
        self.declared = _declared_length(headers.get(b"content-length"))
        self.chunked = b"chunked" in headers.get(b"transfer-encoding", b"").lower()
        self.received = 0
        self.complete = not self.chunked and not self.declared
        self.over = self.answered = self.started = False

    async def run(self) -> None:
        if self.declared is not None and self.declared > self.limit:
            ended = await self._drain() if self.declared <= DRAIN else False
            await self._refuse(close=not ended)
            return
        receive = self._receive
        if self.kind != "upload" and not self.complete:  # small: all of it, before any route
            try:
                body = await self._read_all()
            except TooLarge:
                await self._refuse(close=not await self._drain())
                return
            if body is None:
                return  # the client went away before its body came: no one to answer
            receive = _replay(body, self.receive)
        with contextlib.suppress(TooLarge):  # raised in a route that read past the limit
            await self.app(self.scope, receive, self._send)
        if self.over and not self.answered:
            ended = await self._drain()
            await self._refuse(close=not ended)

    async def _read_all(self) -> list[bytes] | None:
        """The whole body as it came, read before the route is chosen; TooLarge past the
        limit, None if the client went away."""
        parts = []
        while not self.complete:
            message = await self._receive()
            if message["type"] != "http.request":
                return None
            parts.append(message.get("body", b""))
        return parts

    async def _receive(self) -> dict:
        if self.over:
            raise TooLarge
        message = await self.receive()
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if not message.get("more_body", False):
                self.complete = True
            if self.received > self.limit:
                self.over = True
                raise TooLarge
        return message

    async def _send(self, message: dict) -> None:
        if self.over:
            return  # the route's own answer to a body it could not read: the 413 goes instead
        if message["type"] == "http.response.start":
            self.started = True
            # answered before the body came in: a success (a repeat the server already holds)
            # takes the rest, within the route's limit, so its sender sees it; a refusal ends
            # the connection, so an endless body is never drained
            if not self.complete and not (
                message["status"] < 400 and await self._drain(self.limit - self.received)
            ):
                message = {**message, "headers": [*message.get("headers", []), CLOSE]}
        await self.send(message)

    async def _drain(self, most: int = DRAIN) -> bool:
        """Read and drop at most `most` more bytes; whether the body ended within them."""
        if self.complete:
            return True
        dropped = 0
        while dropped <= most:
            message = await self.receive()
            if message["type"] != "http.request":
                return False  # the client went away
            dropped += len(message.get("body", b""))
            if not message.get("more_body", False):
                return True
        return False

    async def _refuse(self, close: bool) -> None:
        self.answered = True
        if self.started:  # the route had begun its answer: all that can be done is to stop
            return
        where = f"JobServerApp.{TRAIT[self.kind]}"
        response = problem_response(
            413,
            f"{WHAT[self.kind]} may have at most {_size(self.limit)}: send less, or ask the "
            f"job server's operator to raise {where}",
            headers={"Connection": "close"} if close else None,
        )
        await response(self.scope, self._never, self.send)

    @staticmethod
    async def _never() -> dict:
        return {"type": "http.disconnect"}


def _replay(parts: list[bytes], receive: Any) -> Any:
    """A receive that gives the body already read, part by part (never copied whole), then
    whatever the client does next."""
    parts = parts or [b""]
    given = 0

    async def replayed() -> dict:
        nonlocal given
        if given >= len(parts):
            return await receive()
        given += 1
        body = parts[given - 1]
        parts[given - 1] = b""  # the route holds it now
        return {"type": "http.request", "body": body, "more_body": given < len(parts)}

    return replayed


def _declared_length(value: bytes | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None  # h11 refuses a malformed length before the app is called
