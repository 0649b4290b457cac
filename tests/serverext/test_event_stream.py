"""The event stream through the server extension: open at once (a comment written before any
event, so the hub's proxy sends the headers on), and this server's own arguments (the
EventSource's `_xsrf`, a Jupyter `token`) are not handed to the job server."""

from __future__ import annotations

import httpx


async def test_the_stream_says_it_is_open_before_any_event(
    jp_fetch, jp_http_port, jp_base_url, jp_auth_header, world
):  # jp_fetch: the server is started
    url = f"http://127.0.0.1:{jp_http_port}{jp_base_url}jupyter-ext/api/events"
    params = {"workspace": "sample", "_xsrf": "not-for-the-job-server"}
    async with (
        httpx.AsyncClient(timeout=30) as http,
        http.stream("GET", url, params=params, headers=jp_auth_header) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert await anext(lines) == ": open"  # nothing has happened yet: only the opening


def test_own_arguments_are_dropped_from_what_the_job_server_is_asked(world):
    from jupyter_ext.serverext.handlers import upstream_query

    asked = "workspace=sample&_xsrf=2%7Cabc&kind=job&kind=log&token=secret&x="
    assert upstream_query(asked) == "workspace=sample&kind=job&kind=log&x="
    assert upstream_query("") == upstream_query("_xsrf=1") == ""


def test_the_page_names_the_workspace_beside_the_hooks_before_it():
    from jupyter_ext.serverext import JupyterExtServer, add_to_page_config

    web = {"page_config_hook": lambda handler, config: {**config, "hubUser": "dev"}}
    add_to_page_config(web, JupyterExtServer(workspace="sample"))
    config = web["page_config_hook"](None, {"baseUrl": "/"})
    assert config == {"baseUrl": "/", "hubUser": "dev", "jupyterExtWorkspace": "sample"}
    alone: dict = {}
    add_to_page_config(alone, JupyterExtServer(workspace="w"))
    assert alone["page_config_hook"](None, {}) == {"jupyterExtWorkspace": "w"}
