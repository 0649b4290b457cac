"""Every handler the extension registers requires a signed-in user: a handler added without
`@web.authenticated` (and `@authorized`) fails here, by inspection and by asking it."""

from __future__ import annotations

import inspect
import re

import httpx
from tornado import web

EXTENSION = "jupyter_ext"


def implemented(handler: type[web.RequestHandler]) -> list[str]:
    """The HTTP verbs the extension's own code answers (not tornado's 405, nor jupyter_server's
    CORS preflight OPTIONS, which it allows unauthenticated on purpose)."""
    return [
        verb
        for verb in handler.SUPPORTED_METHODS
        if inspect.unwrap(getattr(handler, verb.lower())).__module__.startswith("jupyter_ext.")
    ]


def decorators(method) -> list[str]:
    """The qualified names of the wrappers around a method, outermost first."""
    names = []
    while hasattr(method, "__wrapped__"):
        names.append(method.__code__.co_qualname)
        method = method.__wrapped__
    return names


def example_path(pattern: str) -> str:
    """A path the pattern matches: each group given a plain value."""
    return re.sub(r"\([^)]*\)", "abc123", pattern)


def registered(jp_serverapp) -> list[tuple]:
    app = jp_serverapp.extension_manager.extension_points[EXTENSION].app
    assert type(app).__name__ == "JupyterExtServer"
    return app.handlers


async def test_every_verb_of_every_handler_is_decorated(jp_fetch, jp_serverapp):
    handlers = registered(jp_serverapp)
    assert len(handlers) >= 5
    for pattern, handler, *_ in handlers:
        assert pattern.startswith("jupyter-ext/"), pattern
        for verb in implemented(handler):
            names = decorators(getattr(handler, verb.lower()))
            assert names and names[0].startswith("authenticated"), (handler, verb, names)
            assert any(n.startswith("authorized") for n in names), (handler, verb, names)


async def test_every_route_refuses_a_request_without_credentials(
    jp_fetch, jp_serverapp, jp_http_port, jp_base_url, jp_auth_header
):
    root = f"http://127.0.0.1:{jp_http_port}{jp_base_url}"
    async with httpx.AsyncClient(timeout=30) as http:
        signed_in = await http.get(f"{root}jupyter-ext/workspace", headers=jp_auth_header)
    assert signed_in.status_code == 200  # the route is there: the refusals below are real
    for pattern, handler, *_ in registered(jp_serverapp):
        url = root + example_path(pattern)
        for verb in implemented(handler):
            body = b"{}" if verb in ("POST", "PUT", "PATCH") else None
            async with httpx.AsyncClient(timeout=30) as http:  # no cookie of an earlier answer
                answer = await http.request(verb, url, content=body)
            assert answer.status_code in (401, 403), (verb, url, answer.status_code)
