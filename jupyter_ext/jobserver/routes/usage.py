"""What jobs used, summed per project, backend or user (the rules: `services/usage.py`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response

from ... import schema
from ...schema.usage import usage_csv
from ..callers import Caller
from ..deps import SessionDep, requires
from ..permissions import Permission as P
from ..services import usage as usage_service

router = APIRouter(tags=["usage"])


@router.get(
    "/usage",
    response_model=list[schema.UsageRow],
    responses={200: {"content": {"text/csv": {}}}},
)
def usage(
    caller: Annotated[Caller, requires(P.USAGE_VIEW)],
    session: SessionDep,
    group: Literal["project", "backend", "user"] = Query("project"),
    since: dt.date | None = Query(None, alias="from", description="Ended on or after (UTC)."),
    until: dt.date | None = Query(None, alias="to", description="Ended on or before (UTC)."),
    form: Literal["json", "csv"] = Query("json", alias="format"),
):
    """CPU seconds, wall seconds, peak memory (the largest of one job) and bytes written, summed
    per project, backend or user over the jobs that ended from `from` to `to` (UTC days, both
    included), as the runners measured them; `measured` counts the jobs that came with
    figures. For administrators. CSV: a header, then a row per project, backend or user."""
    rows = usage_service.usage(session, caller, group=group, since=since, until=until)
    if form == "csv":
        return csv_answer(rows, group)
    return rows


def csv_answer(rows: list[schema.UsageRow], group: str) -> Response:
    name = f"usage-by-{group}.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(usage_csv(rows), media_type="text/csv", headers=headers)
