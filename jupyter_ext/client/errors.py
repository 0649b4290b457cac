"""Every error from calling the job server's API, error answers read once from their problem JSON.

The job server answers errors as RFC 9457 problem details (`jobserver/errors.py`):
`{"type", "title", "status", "detail", "errors"?}`. `error_from` turns such an answer (or a
proxy's page in its place) into one class of this tree, keeping the server's sentence:

ClientError                  anything raised on purpose by code that calls the API
├── JobServerUnreachable     no answer, even after the retries that were safe to make
├── JobServerError           an answer with an error status: `.status`, `.detail`, `.errors`
│   ├── BadRequest           400
│   ├── Unauthorized         401: the token is missing, wrong or expired
│   ├── Forbidden            403: signed in, but not allowed
│   ├── NotFound             404
│   ├── Conflict             409: the state forbids it now (nothing to cancel, ...)
│   ├── ValidationError      422: the input is wrong; `.errors` names the fields
│   └── ServerError          5xx
├── ChecksumMismatch         a downloaded file is not the one released (nothing is kept)
└── WaitTimeout              `wait(timeout=...)` ran out (also a TimeoutError)

Every caller of the API raises these: the Python client, the runner (`runner/api.py`),
the hub's hook and the server extension; there is no second `JobServerError`.
"""

from __future__ import annotations

import contextlib
from http import HTTPStatus
from typing import Any

import httpx

PROBLEM_JSON = "application/problem+json"


class ClientError(Exception):
    """Base of every error raised on purpose by code that calls the job server's API."""


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
        self.title = title or phrase(status)
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


def phrase(status: int) -> str:
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
    else:  # not the job server's problem JSON: a proxy's page, say
        detail, title, errors = response.text.strip()[:500] or phrase(status), "", None
    kind = BY_STATUS.get(status, ServerError if status >= 500 else JobServerError)
    return kind(status, detail, title=title, errors=errors)


def checked(response: httpx.Response) -> httpx.Response:
    """The response, if it is no error; else its typed error (its body must have been read)."""
    if response.is_error:
        raise error_from(response)
    return response


def unreachable(method: str, path: str, error: Exception) -> JobServerUnreachable:
    """What a request that got no answer says: which one, and why (a timeout's text is empty)."""
    return JobServerUnreachable(
        f"the job server did not answer {method} {path}: {type(error).__name__}: "
        f"{error or 'no reason given'}"
    )
