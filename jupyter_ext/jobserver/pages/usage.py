"""The usage page, `/usage`: what jobs used per project, backend or user, the face of
`services/usage.py` as the API's `GET /usage` is; a table, and the same as CSV or JSON. For
administrators (the service says so to anyone else); the navigation bar links to it for them
alone."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import Query, Request
from fastapi.responses import JSONResponse, Response

from ...schema.usage import USAGE_GROUPS, bytes_text, seconds_text, usage_csv
from ..deps import SessionDep
from ..permissions import Permission as P
from ..services import usage
from . import page
from .auth import page_caller
from .render import environment, render

DAYS = 30  # the range the form starts with: the last 30 days


def sees_usage(caller) -> bool:
    """Whether the navigation bar links to the usage page."""
    return caller.can(P.USAGE_VIEW)


environment.globals["sees_usage"] = sees_usage  # the base template's navigation bar asks it


@page("/usage", P.USAGE_VIEW)
def usage_page(
    request: Request,
    session: SessionDep,
    group: Literal["project", "backend", "user"] = Query("project"),
    since: dt.date | None = Query(None, alias="from"),
    until: dt.date | None = Query(None, alias="to"),
    form: Literal["html", "json", "csv"] = Query("html", alias="format"),
):
    """The sums as a table with its form (the last 30 days at first), or the download the
    form asks for (the same as the API's)."""
    caller = page_caller(request, session)
    today = dt.datetime.now(dt.UTC).date()
    if since is None and until is None:
        since, until = today - dt.timedelta(days=DAYS), today
    rows = usage.usage(session, caller, group=group, since=since, until=until)
    if form == "csv":
        name = f"usage-by-{group}.csv"
        headers = {"Content-Disposition": f'attachment; filename="{name}"'}
        return Response(usage_csv(rows), media_type="text/csv", headers=headers)
    if form == "json":
        return JSONResponse([row.model_dump(mode="json") for row in rows])
    return render(
        request,
        "usage.html",
        caller,
        rows=rows,
        group=group,
        groups=USAGE_GROUPS,
        since=since.isoformat() if since else "",
        until=until.isoformat() if until else "",
        seconds=seconds_text,
        size=bytes_text,
    )
