"""The hub's calls to the job server, always as a user (with a token of theirs), never as itself.

The hub asks the job server only what the user may see: deny by default stays
the job server's business, and the hub holds no key that opens everything. It speaks
through the client's HTTP base, so a refusal is the API's one exception tree
(`JobServerError` with `.status` and the server's `.detail`; `JobServerUnreachable`
when there is no answer in time).
"""

from __future__ import annotations

import asyncio

import httpx

from jupyter_ext.client.base import async_client, checked, unreachable
from jupyter_ext.client.errors import ClientError, JobServerError, JobServerUnreachable

__all__ = ["ClientError", "JobServer", "JobServerError", "JobServerUnreachable"]
AGENT = "jupyter-ext-hub"


class JobServer:
    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url = url
        self.timeout = timeout

    def _http(self, token: str) -> httpx.AsyncClient:
        return async_client(self.url, token, timeout=self.timeout, agent=AGENT)

    async def workspace(self, name: str, token: str) -> dict:
        """The workspace, if this user may use it (a member of its project)."""
        async with self._http(token) as http:
            try:
                response = await http.get(f"workspaces/{name}")
            except httpx.HTTPError as exc:  # a timeout's text is empty: `unreachable` names it
                raise unreachable("GET", f"workspaces/{name}", exc) from None
        return checked(response).json()

    async def keep_github_token(self, token: str, github_token: str) -> None:
        """Hand the user's GitHub token on (the job server encrypts it at rest)."""
        async with self._http(token) as http:
            checked(await http.put("me/github-token", json={"token": github_token}))

    async def workspaces(self, token: str) -> list[dict]:
        """The user's workspaces, each with its latest job request (for the home page)."""
        async with self._http(token) as http:
            found = await http.get("workspaces", params={"archived": "false", "limit": 200})
            items = checked(found).json()["items"]
            latest = await asyncio.gather(
                *(
                    http.get("job-requests", params={"workspace": item["name"], "limit": 1})
                    for item in items
                )
            )
        for item, answer in zip(items, latest, strict=True):
            requests = answer.json().get("items", []) if answer.status_code == 200 else []
            item["latest"] = requests[0] if requests else None
        return items
