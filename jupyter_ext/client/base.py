"""The HTTP base every caller of the job server's API shares, doing no I/O itself.

The Python client, the runner (`runner/api.py`), the hub's hook
(`hub_config/hubext/jobserver.py`) and the server extension open their connection with
`sync_client`/`async_client` (root given as the root or the API's address, bearer token,
user agent, timeout), check answers with `checked` (problem JSON to the one exception tree
of `errors`), and decide with `Retry` whether and when a request is sent again: one that
never left always may be; one whose answer was lost only if repeating it is safe (GET,
PUT, DELETE, or an Idempotency-Key); a 429/502/503/504 is a proxy's "not now".
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass
from typing import Any

import httpx

from .._version import __version__
from .errors import checked, error_from, unreachable

__all__ = [
    "API",
    "FILES",
    "Retry",
    "api_headers",
    "api_root",
    "async_client",
    "checked",
    "error_from",
    "repeatable",
    "sync_client",
    "unreachable",
]

API = "api/v1/"  # the JSON API, under the job server's root
FILES = "api/v2/"  # released files' bytes
TIMEOUT = 30.0


def api_root(url: str) -> str:
    """The job server's root, ending in '/': from the root itself or from its API's address."""
    return (url.rstrip("/") + "/").removesuffix(API)


def api_headers(token: str | None, agent: str = "jupyter-ext") -> dict[str, str]:
    """The headers every request carries: who speaks (the bearer token) and with what."""
    headers = {"User-Agent": f"{agent}/{__version__}"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _options(
    url: str,
    token: str | None,
    under: str,
    timeout: float | httpx.Timeout,
    agent: str,
    options: dict[str, Any],
) -> dict[str, Any]:
    headers = {**api_headers(token, agent), **options.pop("headers", {})}
    return {
        "base_url": api_root(url) + under,
        "headers": headers,
        "timeout": timeout,
        **options,
    }


def sync_client(
    url: str,
    token: str | None = None,
    *,
    under: str = API,
    timeout: float | httpx.Timeout = TIMEOUT,
    agent: str = "jupyter-ext",
    **options: Any,
) -> httpx.Client:
    """A blocking client whose relative paths are under `{root}{under}` (the API by default)."""
    return httpx.Client(**_options(url, token, under, timeout, agent, options))


def async_client(
    url: str,
    token: str | None = None,
    *,
    under: str = API,
    timeout: float | httpx.Timeout = TIMEOUT,
    agent: str = "jupyter-ext",
    **options: Any,
) -> httpx.AsyncClient:
    """An asyncio client whose relative paths are under `{root}{under}` (the API by default)."""
    return httpx.AsyncClient(**_options(url, token, under, timeout, agent, options))


IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})  # a proxy's "not now": the app did nothing
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout)  # the request never left: always safe
# the request may have been handled: only a request that is safe to repeat is sent again
LOST_ANSWER = (
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
    httpx.ReadTimeout,
    httpx.WriteTimeout,
)


def repeatable(method: str, headers: dict[str, str] | None = None) -> bool:
    """Sending it twice does what sending it once does."""
    return method in IDEMPOTENT or "Idempotency-Key" in (headers or {})


@dataclass(frozen=True)
class Retry:
    """Exponential backoff: `retries` more tries, waiting `backoff`, twice that, ... up to `cap`."""

    retries: int = 5
    backoff: float = 0.5
    cap: float = 10.0

    def delay(
        self,
        repeatable: bool,
        attempt: int,
        error: Exception | None = None,
        response: httpx.Response | None = None,
    ) -> float | None:
        """Seconds to wait before trying again after `attempt` (0 = the first), or None."""
        if attempt >= self.retries:
            return None
        never_arrived = isinstance(error, NOT_SENT)  # refused or unreachable: nothing happened
        not_answered = isinstance(error, LOST_ANSWER) or (
            response is not None and response.status_code in RETRY_STATUSES
        )
        if not (never_arrived or (repeatable and not_answered)):
            return None
        wait = min(self.cap, self.backoff * 2**attempt) * (1 + random.random() / 4)
        if response is not None and (later := retry_after(response)) is not None:
            wait = max(wait, min(later, 60.0))
        return wait


def retry_after(response: httpx.Response) -> float | None:
    """The server's Retry-After, in seconds (a number or an HTTP date), if it gave one."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.isdigit():
        return float(value)
    when = email.utils.parsedate_to_datetime(value) if "," in value else None
    return max(0.0, when.timestamp() - time.time()) if when else None
