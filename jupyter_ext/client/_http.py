"""What `Client` and `AsyncClient` share to talk to the job server, doing no I/O itself.

`Config` finds the job server and the token; a `Call` says what to ask (method,
path, parameters, body) and how to read the answer (`parse`); `Base` builds requests
and reads answers. Opening the connection, when to try again (`Retry`) and the
errors (problem JSON to one exception tree) are shared with every caller of the API:
`base` and `errors`.
The two clients only send.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from .. import schema
from .base import API, FILES, Retry, api_root, checked, repeatable
from .base import unreachable as _unreachable
from .errors import ClientError, JobServerUnreachable, WaitTimeout
from .models import StudyRun

if TYPE_CHECKING:
    from .dataset_resource import Datasets
    from .jobs import JobRequests, Jobs
    from .models import JobRequest
    from .releases import Releases
    from .resources import ActionsResource, Backends, Events, Projects, Workspaces
    from .runs import Runs
    from .schedules import Schedules

__all__ = ["API", "FILES", "Base", "Call", "Config", "Retry", "clean"]
AGENT = "jupyter-ext-client"


@dataclass(frozen=True)
class Config:
    """Where the job server is, who speaks, the default workspace and backend.

    Each comes from the argument if given, else from the environment a workspace
    server has: JUPYTER_EXT_JOBSERVER_URL, JUPYTER_EXT_TOKEN or JUPYTERHUB_API_TOKEN,
    JUPYTER_EXT_WORKSPACE, JUPYTER_EXT_BACKEND. Read when a client is made, never at import.
    """

    root: str
    token: str | None = field(default=None, repr=False)
    workspace: str | None = None
    backend: str | None = None

    @classmethod
    def resolve(
        cls, url: str | None, token: str | None, workspace: str | None, backend: str | None = None
    ) -> Config:
        env = os.environ
        url = url or env.get("JUPYTER_EXT_JOBSERVER_URL")
        if not url:
            raise ClientError(
                "no job server: give its URL, Client('https://…/services/jobserver/', "
                "token=…), or set JUPYTER_EXT_JOBSERVER_URL"
            )
        root = api_root(url)  # the API's own address works as well as the root
        token = token or env.get("JUPYTER_EXT_TOKEN") or env.get("JUPYTERHUB_API_TOKEN") or None
        workspace = workspace or env.get("JUPYTER_EXT_WORKSPACE") or None
        return cls(root, token, workspace, backend or env.get("JUPYTER_EXT_BACKEND") or None)


def read_json(response: httpx.Response) -> Any:
    return response.json() if response.content else None


@dataclass
class Call:
    """One API request and how to read its answer; sent again only where that is safe."""

    method: str
    path: str  # relative to {root}api/v1/, or a full URL (next links, file downloads)
    params: dict[str, Any] | None = None
    json: Any = None
    parse: Callable[[httpx.Response], Any] = read_json
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def repeatable(self) -> bool:
        """Sending it twice does what sending it once does."""
        return repeatable(self.method, self.headers)


def clean(params: dict[str, Any]) -> dict[str, Any]:
    """Query parameters without the ones left out (None)."""
    return {k: v for k, v in params.items() if v is not None}


def unreachable(call: Call, error: Exception) -> JobServerUnreachable:
    return _unreachable(call.method, call.path, error)


STREAM_READ = 45.0  # the server pings every 15 s: this long a silence is a dead connection


def read_timeout(deadline: float | None) -> float:
    """How long one read of a stream may wait: never past the deadline."""
    if deadline is None:
        return STREAM_READ
    return max(0.01, min(STREAM_READ, deadline - time.monotonic()))


def check_deadline(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() >= deadline:
        raise WaitTimeout("the time given has run out")


def reopen_sooner(deadline: float | None, read: float) -> bool:
    """A stream opened with a longer read timeout than the time left: reopen it shorter."""
    return deadline is not None and read > deadline - time.monotonic() + 1


class Base:
    """What both clients share: configuration, the resources, building and reading requests."""

    projects: Projects
    workspaces: Workspaces
    backends: Backends
    actions: ActionsResource
    job_requests: JobRequests
    runs: Runs
    jobs: Jobs
    releases: Releases
    events: Events
    datasets: Datasets
    schedules: Schedules

    def __init__(
        self,
        url: str | None = None,
        *,
        token: str | None = None,
        workspace: str | None = None,
        backend: str | None = None,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.5,
        transport: httpx.BaseTransport | httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = Config.resolve(url, token, workspace, backend)
        self.retry = Retry(retries, backoff)
        self._timeout = timeout
        self._http = self._make_http(
            self.config.root, self.config.token, timeout=timeout, transport=transport, agent=AGENT
        )
        from .resources import attach  # the resources send through this class

        attach(self)

    def _make_http(self, root: str, token: str | None, **options: Any) -> Any:
        raise NotImplementedError

    @property
    def url(self) -> str:
        """The job server's root."""
        return self.config.root

    @property
    def workspace(self) -> str | None:
        """The default workspace (JUPYTER_EXT_WORKSPACE inside a workspace server)."""
        return self.config.workspace

    @property
    def backend(self) -> str | None:
        """The default backend (JUPYTER_EXT_BACKEND), whose rules `releases.check` runs."""
        return self.config.backend

    def __repr__(self) -> str:
        workspace = f", workspace={self.workspace!r}" if self.workspace else ""
        return f"{type(self).__name__}({self.url!r}{workspace})"

    def me(self) -> Any:
        """Who this client speaks as (a `schema.User`)."""
        return self._send(Call("GET", "me", parse=lambda r: schema.User.model_validate(r.json())))

    def _send(self, call: Call) -> Any:
        raise NotImplementedError

    def _delay(
        self,
        call: Call,
        attempt: int,
        error: Exception | None = None,
        response: httpx.Response | None = None,
    ) -> float | None:
        """Seconds to wait before sending `call` again, or None: give up (see `Retry`)."""
        return self.retry.delay(call.repeatable, attempt, error=error, response=response)

    def _request(self, call: Call, **extra: Any) -> httpx.Request:
        url: str | httpx.URL = call.path
        if call.path.startswith(("http://", "https://")):
            # a link the server made (a next page), sent where everything goes (past a proxy)
            base = self._http.base_url
            url = httpx.URL(call.path).copy_with(scheme=base.scheme, host=base.host, port=base.port)
        return self._http.build_request(
            call.method, url, params=call.params, json=call.json, headers=call.headers, **extra
        )

    def _stream_request(self, call: Call, deadline: float | None = None) -> httpx.Request:
        timeout = httpx.Timeout(self._timeout, read=read_timeout(deadline))
        return self._request(call, timeout=timeout)

    def _file_call(self, file: schema.ReleaseFile) -> Call:
        return Call(
            "GET",
            f"{self.config.root}{FILES}releases/file/{quote(file.id, safe='')}",
            parse=lambda r: None,
        )

    @staticmethod
    def _read(call: Call, response: httpx.Response) -> Any:
        return call.parse(checked(response))

    @staticmethod
    def _too_long(followed: JobRequest | StudyRun, timeout: float | None) -> WaitTimeout:
        what = "study run" if isinstance(followed, StudyRun) else "job request"
        return WaitTimeout(
            f"the {what} {followed.id} has not finished within {timeout} s "
            f"({followed.state}); it goes on: wait again, or cancel it"
        )
