"""What every resource of the API shares: reading answers into bound models, quoted paths,
listing across pages, and the default workspace."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx

from .. import schema
from ._http import Call, clean
from .errors import ClientError
from .models import Bound


def parse_one(client: Any, cls: type, into: Bound | None = None) -> Callable[[httpx.Response], Any]:
    """Read one `cls` (bound to `client`); with `into`, update that object and return it."""

    def parse(response: httpx.Response) -> Any:
        item = cls.model_validate(response.json())
        if isinstance(item, Bound):
            item._bind(client)
            return into._update(item) if into is not None else item
        return item

    return parse


def submission_warnings(made: Any) -> list[str]:
    """What a new job request (or each site of a run) was warned of, each said once."""
    requests = [site.job_request for site in getattr(made, "sites", [])] or [made]
    return list(dict.fromkeys(w for r in requests for w in getattr(r, "warnings", [])))


def parse_page(client: Any, cls: type) -> Callable[[httpx.Response], Any]:
    """Read a page, `{items, next}` (or a plain list): the bound items and the next URL."""

    def parse(response: httpx.Response) -> tuple[list, str | None]:
        body = response.json()
        page = schema.Page[cls].model_validate(body if isinstance(body, dict) else {"items": body})
        items = [i._bind(client) if isinstance(i, Bound) else i for i in page.items]
        return items, page.next

    return parse


def api_path(*parts: str) -> str:
    """An API path from its segments, each quoted: a name can never change the address."""
    return "/".join(quote(part, safe="") for part in parts)


def name_of(thing: Any, attribute: str) -> str:
    return thing if isinstance(thing, str) else getattr(thing, attribute)


class Resource:
    def __init__(self, client: Any) -> None:
        self._client = client

    def _send(self, call: Call) -> Any:
        return self._client._send(call)

    def _list(self, path: str, cls: type, page_size: int | None, **filters: Any) -> Any:
        params = clean({**filters, "limit": page_size})
        return self._client._iterate(
            Call("GET", path, params=params, parse=parse_page(self._client, cls))
        )

    def _get(self, path: str, cls: type, into: Bound | None = None) -> Call:
        return Call("GET", path, parse=parse_one(self._client, cls, into))

    def _submit(self, path: str, cls: type, body: dict[str, Any], key: str | None) -> Any:
        """POST a submission with an Idempotency-Key (a new one unless given), so a retry after
        a lost answer never makes it twice."""
        headers = {"Idempotency-Key": key or uuid.uuid4().hex}
        parse = parse_one(self._client, cls)

        def parse_and_warn(response: httpx.Response) -> Any:
            made = parse(response)
            for said in submission_warnings(made):
                warnings.warn(said, UserWarning, stacklevel=4)
            return made

        return self._send(
            Call("POST", path, json=clean(body), headers=headers, parse=parse_and_warn)
        )

    def _workspace(self, workspace: str | None) -> str:
        workspace = workspace or self._client.workspace
        if not workspace:
            raise ClientError("which workspace? Name one, or set JUPYTER_EXT_WORKSPACE")
        return workspace
