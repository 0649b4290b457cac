"""The hub's calls to the job server, always as a user (with a token of theirs), never as itself.

The hub asks the job server only what the user may see: deny by default stays
the job server's business, and the hub holds no key that opens everything.
"""

from __future__ import annotations

import asyncio

import httpx


class JobServerRefused(Exception):
    """The job server said no (or could not be reached); `.status` and the sentence say why."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status, self.detail = status, detail


def _detail(response: httpx.Response) -> str:
    try:
        return response.json().get("detail") or response.text
    except ValueError:
        return response.text


class JobServer:
    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.api = url.rstrip("/") + "/api/v1/"
        self.timeout = timeout

    def _headers(self, token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    async def workspace(self, name: str, token: str) -> dict:
        """The workspace, if this user may use it (a member of its project)."""
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            try:
                response = await http.get(
                    f"{self.api}workspaces/{name}", headers=self._headers(token)
                )
            except httpx.HTTPError as exc:  # a timeout's text is empty: name it
                raise JobServerRefused(
                    503, f"the job server cannot be reached: {type(exc).__name__} {exc}".strip()
                ) from None
        if response.status_code != 200:
            raise JobServerRefused(response.status_code, _detail(response))
        return response.json()

    async def keep_github_token(self, token: str, github_token: str) -> None:
        """Hand the user's GitHub token on (the job server encrypts it at rest)."""
        async with httpx.AsyncClient(timeout=self.timeout) as http:
            response = await http.put(
                f"{self.api}me/github-token",
                json={"token": github_token},
                headers=self._headers(token),
            )
        if response.status_code != 204:
            raise JobServerRefused(response.status_code, _detail(response))

    async def workspaces(self, token: str) -> list[dict]:
        """The user's workspaces, each with its latest job request (for the home page)."""
        async with httpx.AsyncClient(timeout=self.timeout, headers=self._headers(token)) as http:
            found = await http.get(
                f"{self.api}workspaces", params={"archived": "false", "limit": 200}
            )
            found.raise_for_status()
            items = found.json()["items"]
            latest = await asyncio.gather(
                *(
                    http.get(
                        f"{self.api}job-requests", params={"workspace": item["name"], "limit": 1}
                    )
                    for item in items
                )
            )
        for item, answer in zip(items, latest, strict=True):
            requests = answer.json().get("items", []) if answer.status_code == 200 else []
            item["latest"] = requests[0] if requests else None
        return items
