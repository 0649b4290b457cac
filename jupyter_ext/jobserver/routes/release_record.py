"""The auditors' export of release decisions, as JSON or CSV (the rules:
`services/release_record.py`), streamed as it is read, a page of releases at a time."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from ...schema.release_record import CSV_COLUMNS, ReleaseDecision, csv_rows
from ..callers import Caller
from ..deps import SessionDep, requires
from ..permissions import Permission as P
from ..services import release_record

router = APIRouter(tags=["releases"])


@router.get(
    "/release-decisions",
    response_model=list[ReleaseDecision],
    responses={200: {"content": {"text/csv": {}}}},
)
def release_decisions(
    request: Request,
    caller: Annotated[Caller, requires(P.RELEASE_RECORD, "project")],
    session: SessionDep,
    project: str | None = Query(None, description="Only this project's releases."),
    since: dt.date | None = Query(None, alias="from", description="Requested on or after."),
    until: dt.date | None = Query(None, alias="to", description="Requested on or before."),
    form: Literal["json", "csv"] = Query("json", alias="format"),
) -> StreamingResponse:
    """Every file version of the releases requested from `from` to `to` (UTC days, both
    included): sha256, the rules' findings, the votes with their comments, withdrawn votes,
    who asked and who published, when. For administrators and output checkers (a site's own
    checkers: what leaves that site); each reading is audited as `release.export`. JSON: a
    list of objects; CSV: one row per vote, the file's columns repeated."""
    scope = release_record.open_record(
        session, caller, project=project, since=since, until=until, form=form
    )
    found = release_record.decisions(request.app.state.sessionmaker, scope)
    name = f"release-decisions-{scope.name}.{form}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if form == "csv":
        return StreamingResponse(_csv(found), media_type="text/csv", headers=headers)
    return StreamingResponse(_json(found), media_type="application/json", headers=headers)


def _json(found: Iterator[ReleaseDecision]) -> Iterator[str]:
    yield "["
    for n, decision in enumerate(found):
        yield ("," if n else "") + "\n" + decision.model_dump_json()
    yield "\n]\n"


def _csv(found: Iterator[ReleaseDecision]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    for decision in found:
        writer.writerows(csv_rows(decision))
        if out.tell() > 64_000:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
