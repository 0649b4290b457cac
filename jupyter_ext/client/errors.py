"""What the client raises, each carrying the job server's own sentence.

ClientError                  anything this client raises on purpose
├── JobServerUnreachable     no answer, even after retrying with backoff
├── JobServerError           an answer with an error status (problem+json)
│   ├── BadRequest           400
│   ├── Unauthorized         401: the token is missing, wrong or expired
│   ├── Forbidden            403: signed in, but not allowed
│   ├── NotFound             404
│   ├── Conflict             409: the state forbids it now (nothing to cancel, ...)
│   ├── ValidationError      422: the input is wrong; `.errors` names the fields
│   └── ServerError          5xx
├── ChecksumMismatch         a downloaded file is not the one released (nothing is kept)
└── WaitTimeout              `wait(timeout=...)` ran out (also a TimeoutError)
"""

from __future__ import annotations

import contextlib
from http import HTTPStatus
from typing import Any

import httpx


class ClientError(Exception):
    """Base of every error this client raises on purpose."""


class JobServerUnreachable(ClientError):
    """The job server did not answer, even after the retries that were safe to make."""


class ChecksumMismatch(ClientError):
    """A downloaded file's sha256 is not the released one; the partial file is deleted."""


class WaitTimeout(ClientError, TimeoutError):
    """Waiting for a job request took longer than its timeout."""


class JobServerError(ClientError):
    """The job server answered with an error: `.detail` is its sentence of what to change."""

    def __init__(
        self, status: int, detail: str, *, title: str = "", errors: list[dict] | None = None
    ) -> None:
        self.status, self.detail, self.errors = status, detail, errors
        self.title = title or _phrase(status)
        super().__init__(f"{status} {self.title}: {detail}")


class BadRequest(JobServerError):
    pass


class Unauthorized(JobServerError):
    pass


class Forbidden(JobServerError):
    pass


class NotFound(JobServerError):
    pass


class Conflict(JobServerError):
    pass


class ValidationError(JobServerError):
    pass


class ServerError(JobServerError):
    pass


BY_STATUS: dict[int, type[JobServerError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    422: ValidationError,
}


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error_from(response: httpx.Response) -> JobServerError:
    """The typed error of an error response (its body must have been read)."""
    status = response.status_code
    body: Any = None
    with contextlib.suppress(ValueError):
        body = response.json()
    if isinstance(body, dict) and isinstance(body.get("detail"), str):
        detail, title, errors = body["detail"], body.get("title", ""), body.get("errors")
    else:  # not the job server's problem+json: a proxy's page, say
        detail, title, errors = response.text.strip()[:500] or _phrase(status), "", None
    kind = BY_STATUS.get(status, ServerError if status >= 500 else JobServerError)
    return kind(status, detail, title=title, errors=errors)
