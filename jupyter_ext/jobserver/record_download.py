"""The record of release decisions as a download, JSON or CSV, streamed as it is read: the
API (`routes/release_record.py`) and the checkers' desk (`pages/desk.py`) both answer with it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from fastapi.responses import StreamingResponse

from ..schema.release_record import CSV_COLUMNS, ReleaseDecision, csv_rows
from .services import release_record


def record_download(
    sessionmaker, scope: release_record.RecordScope, form: str
) -> StreamingResponse:
    """The decisions `scope` covers (its reading already audited by `open_record`)."""
    found = release_record.decisions(sessionmaker, scope)
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
