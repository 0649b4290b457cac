"""The auditors' export of release decisions, as JSON or CSV (the rules:
`services/release_record.py`), streamed as it is read, a page of releases at a time."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from ...schema.release_record import ReleaseDecision
from ..callers import Caller
from ..deps import SessionDep, requires
from ..permissions import Permission as P
from ..record_download import record_download
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
    return record_download(request.app.state.sessionmaker, scope, form)
