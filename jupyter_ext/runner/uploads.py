"""Upload published release files from the site (stub: replaced by the real uploader)."""

from __future__ import annotations

from pathlib import Path

from .. import schema
from .api import JobServerAPI


class Uploader:
    def __init__(self, api: JobServerAPI, workspaces: Path) -> None:
        self.api, self.workspaces = api, workspaces

    def want(self, uploads: list[schema.ReleaseUpload]) -> None:
        pass

    async def close(self) -> None:
        pass
