"""How stored bytes are served to a browser so that nothing in them can run in the page.

The type comes from the recorded name only (never from the bytes), every answer carries
`nosniff` and a policy that runs nothing and loads nothing from anywhere (`sandbox`,
`default-src 'none'`: a notebook's HTML or an SVG that names an image or a frame elsewhere
calls no one; its own styles and embedded `data:` images still show), and anything not
viewable is an attachment. Released files, review copies and dummy data are all served
this way.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path, PurePosixPath

from fastapi.responses import FileResponse

VIEWABLE = {".csv", ".txt", ".log", ".json", ".md", ".png", ".jpg", ".jpeg", ".svg", ".html"}
FILE_POLICY = "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'"
SANDBOXED = {"Content-Security-Policy": FILE_POLICY, "X-Content-Type-Options": "nosniff"}


def media_type(path: str) -> str:
    """The type a file is served as: from its recorded name only, never from its bytes."""
    return mimetypes.types_map.get(Path(path).suffix.lower(), "application/octet-stream")


def sandboxed_file(stored: Path, recorded: str) -> FileResponse:
    """The bytes at `stored` under the recorded name `recorded`: inline if viewable."""
    suffix = Path(recorded).suffix.lower()
    return FileResponse(
        stored,
        media_type=media_type(recorded),
        headers=SANDBOXED,
        filename=Path(recorded).name,
        content_disposition_type="inline" if suffix in VIEWABLE else "attachment",
    )


def attachment(stored: Path, recorded: str) -> FileResponse:
    """The bytes at `stored` as a download only (dummy data), typed by its name."""
    name_only = PurePosixPath(recorded).name
    return FileResponse(
        stored,
        media_type=mimetypes.guess_type(name_only)[0] or "application/octet-stream",
        headers=SANDBOXED,
        filename=name_only,
        content_disposition_type="attachment",
    )
