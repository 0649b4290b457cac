"""The handlers under `{base_url}jupyter-ext/`.

- `workspace`: the workspace as the job server knows it, and the checkout's state;
- `actions`: the actions of project.yaml in the checkout, read live (problems with their
  lines when it is invalid), with the last state of each per backend and the commit a job
  would run at, from the job server;
- `api/...`: the job server's API, with the user's token added here (event streams too);
- `files/<id>`: a released file, served as the job server serves it (no script runs);
- `check`: a backend's pre-release rules over files (`check.py`);
- `collect`: a study run's released outputs from every site, into a folder (`collect.py`).
- `notebook-action`: whether a notebook is an action of project.yaml, else the entry
  proposed for it, and adding that entry (`notebook_handlers.py`);
- `git/commit-push`: commit the named files and push the branch (`git_push.py`).

Each is an `ExtensionHandlerMixin` of `JupyterExtServer` (`self.ext`, its settings): every
verb requires a signed-in user (`@web.authenticated`) allowed to use `jupyter_ext`
(`@authorized`). The job server is spoken to with the client's HTTP base.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import httpx
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import APIHandler
from jupyter_server.extension.handler import ExtensionHandlerMixin
from tornado import web
from tornado.iostream import StreamClosedError

from ..client import AsyncClient
from ..client.base import api_root, async_client, checked
from ..client.errors import ChecksumMismatch, ClientError, JobServerError, JobServerUnreachable
from ..pipeline import check_pipeline
from ..pipeline.yaml_loader import MAX_CHARACTERS
from .checkout import checkout_state

AUTH_RESOURCE = "jupyter_ext"  # what a Jupyter authorizer is asked to allow

PASSED_REQUEST_HEADERS = ("Content-Type", "Accept", "Last-Event-ID", "Idempotency-Key")
PASSED_RESPONSE_HEADERS = (
    "Content-Type",
    "Content-Disposition",
    "Content-Security-Policy",
    "X-Content-Type-Options",
    "Cache-Control",
    "Link",
)
STREAM_TIMEOUT = httpx.Timeout(30.0, read=None)  # an event stream waits as long as it likes
# arguments for this server's own checks (the EventSource's XSRF token, a Jupyter token): the
# job server never sees them
OWN_ARGUMENTS = frozenset({"_xsrf", "token"})
# written first on an event stream: a proxy in front (the hub's) sends the headers on with it,
# not with the first event or ping
STREAM_OPENED = b": open\n\n"


def upstream_query(query: str) -> str:
    """The query handed to the job server: the browser's, less this server's own arguments."""
    pairs = parse_qsl(query, keep_blank_values=True)
    return urlencode([(k, v) for k, v in pairs if k not in OWN_ARGUMENTS])


@contextmanager
def client_errors() -> Iterator[None]:
    """The Python client's errors as this server's answers, mapped here once."""
    try:
        yield
    except JobServerError as exc:  # its 401 is about this server's token, not the browser
        status = exc.status if exc.status < 500 and exc.status != 401 else 502
        raise web.HTTPError(status, exc.detail) from None
    except (JobServerUnreachable, ChecksumMismatch) as exc:
        raise web.HTTPError(502, str(exc)) from None
    except ClientError as exc:  # a file that moved since it was looked at, say
        raise web.HTTPError(400, str(exc)) from None


class Base(ExtensionHandlerMixin, APIHandler):
    """A handler of the extension: `self.ext` is the `JupyterExtServer` with its settings."""

    auth_resource = AUTH_RESOURCE

    @property
    def ext(self):
        return self.extensionapp

    def jobserver(self, **options) -> httpx.AsyncClient:
        """A connection to the job server's API as this server's user (the token stays here)."""
        if not self.ext.jobserver_url:
            raise web.HTTPError(503, "no job server is configured: set JUPYTER_EXT_JOBSERVER_URL")
        return async_client(
            self.ext.jobserver_url, self.ext.token or None, agent="jupyter-ext-server", **options
        )

    def client(self) -> AsyncClient:
        """The Python client of the job server as this server's user (the token stays here)."""
        if not self.ext.jobserver_url:
            raise web.HTTPError(503, "no job server is configured: set JUPYTER_EXT_JOBSERVER_URL")
        return AsyncClient(
            self.ext.jobserver_url,
            token=self.ext.token or None,
            workspace=self.ext.workspace or None,
            retries=1,
        )

    async def jobserver_json(self, path: str, **params) -> tuple[dict | None, str | None]:
        """(answer, None) or (None, the job server's sentence of why not)."""
        try:
            async with self.jobserver() as http:
                response = checked(await http.get(path, params=params))
        except (httpx.HTTPError, web.HTTPError) as exc:
            return None, f"the job server cannot be reached: {getattr(exc, 'log_message', exc)}"
        except JobServerError as exc:
            return None, exc.detail
        return response.json(), None

    def write_json(self, data: dict) -> None:
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))


class WorkspaceHandler(Base):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        record, problem = await self.jobserver_json(f"workspaces/{self.ext.workspace}")
        branch = record["branch"] if record else None
        checkout = await checkout_state(Path(self.ext.root_dir), branch)
        self.write_json(
            {
                "name": self.ext.workspace,
                "workspace": record,
                "jobserver_error": problem,
                "checkout": checkout,
            }
        )


class ActionsHandler(Base):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        path = Path(self.ext.root_dir) / "project.yaml"
        try:
            with path.open(encoding="utf-8") as file:  # no more than the pipeline reads
                text = file.read(MAX_CHARACTERS + 1)
        except FileNotFoundError:
            text = None
        except (OSError, UnicodeDecodeError) as exc:
            raise web.HTTPError(422, f"project.yaml cannot be read: {exc}") from None
        remote, problem = await self.jobserver_json(f"workspaces/{self.ext.workspace}/actions")
        result = {
            "file": "project.yaml",
            "sha": remote and remote["sha"],
            "actions": [],
            "problems": [],
            "warnings": [],
            "jobserver_error": problem,
        }
        if text is None:
            result["problems"] = [
                {
                    "message": "there is no project.yaml in the checkout: add one "
                    "at the top of the repository",
                    "line": None,
                }
            ]
            return self.write_json(result)
        pipeline, problems, warnings = check_pipeline(text, "project.yaml")
        result["problems"] = [p.to_json() for p in problems]
        result["warnings"] = [w.to_json() for w in warnings]
        states = {a["name"]: a["last_state"] for a in (remote or {}).get("actions", [])}
        if pipeline is not None:
            result["actions"] = [
                {
                    "name": name,
                    "needs": list(a.needs),
                    "run": a.run.raw,
                    "line": a.line,
                    "outputs": a.outputs.to_json(),
                    "last_state": states.get(name, {}),
                }
                for name, a in pipeline.actions.items()
            ]
        self.write_json(result)


class ProxyHandler(Base):
    """The job server's API as this user: the token is added here, never sent to the browser."""

    prefix = "api/v1/"
    upstream: asyncio.Task | None = None

    def on_connection_close(self) -> None:
        """The browser went away: stop reading the job server for it (event streams)."""
        if self.upstream is not None:
            self.upstream.cancel()

    async def forward(self, path: str) -> None:
        self.upstream = asyncio.current_task()
        try:
            await self._forward(path)
        except asyncio.CancelledError:
            if not self.request.connection.stream.closed():
                raise

    async def _forward(self, path: str) -> None:
        if ".." in path.split("/") or path.startswith("runner"):
            raise web.HTTPError(404, "not a path of the job server's API")
        url = api_root(self.ext.jobserver_url) + self.prefix + path
        if query := upstream_query(self.request.query):
            url += "?" + query
        headers = {
            h: self.request.headers[h] for h in PASSED_REQUEST_HEADERS if h in self.request.headers
        }
        body = self.request.body if self.request.method in ("POST", "PUT", "PATCH") else None
        async with self.jobserver(timeout=STREAM_TIMEOUT) as http:
            request = http.build_request(self.request.method, url, headers=headers, content=body)
            try:
                response = await http.send(request, stream=True)
            except httpx.HTTPError as exc:
                raise web.HTTPError(502, f"the job server cannot be reached: {exc}") from None
            try:
                self.set_status(response.status_code)
                for name in PASSED_RESPONSE_HEADERS:
                    if name in response.headers:
                        self.set_header(name, response.headers[name])
                if response.headers.get("content-type", "").startswith("text/event-stream"):
                    self.write(STREAM_OPENED)  # the stream is open: say so before its first event
                    await self.flush()
                async for chunk in response.aiter_raw():
                    self.write(chunk)
                    await self.flush()  # event streams: each event reaches the browser now
            except StreamClosedError:
                pass  # the browser went away
            finally:
                await response.aclose()
        self.finish()

    @web.authenticated
    @authorized
    async def get(self, path: str) -> None:
        await self.forward(path)

    @web.authenticated
    @authorized
    async def post(self, path: str) -> None:
        await self.forward(path)

    @web.authenticated
    @authorized
    async def put(self, path: str) -> None:
        await self.forward(path)

    @web.authenticated
    @authorized
    async def patch(self, path: str) -> None:
        await self.forward(path)

    @web.authenticated
    @authorized
    async def delete(self, path: str) -> None:
        await self.forward(path)


class FileHandler(ProxyHandler):
    """A released file by its id, as the job server serves it (no script can run in it)."""

    prefix = "api/v2/releases/file/"
