"""The runner's journal on the site: what it has taken on, so a restart loses nothing.

A job is written here before it starts and removed only once the job server
has its final state. A runner that restarts (killed, rebooted, upgraded) reads
it back: jobs still running are followed on (or failed, saying why), and
final reports the job server never received are sent again. Each entry is one
small JSON file replaced atomically.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from .. import schema
from .paths import PathEscape, inside, safe_name

log = logging.getLogger("jupyter_ext.runner.journal")


class Journal:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, identifier: str) -> Path:
        """The entry's file: the identifier is one safe name, or PathEscape (the agent checks
        a lease before it writes anything, so this only holds the line)."""
        return inside(self.folder, f"{safe_name(identifier, 'the job')}.json")

    def _write(self, identifier: str, entry: dict) -> None:
        part = self._path(identifier).with_suffix(".part")
        part.write_text(json.dumps(entry))
        os.replace(part, self._path(identifier))

    def start(self, lease: schema.Lease) -> None:
        # the checkout token is for the first checkout only: it is never written down
        lease_json = lease.model_dump(mode="json", exclude={"github_token"})
        self._write(lease.identifier, {"lease": lease_json, "final": None})

    def finish(self, identifier: str, update: schema.StatusUpdate) -> None:
        entry = json.loads(self._path(identifier).read_text())
        entry["final"] = update.model_dump(mode="json")
        self._write(identifier, entry)

    def forget(self, identifier: str) -> None:
        self._path(identifier).unlink(missing_ok=True)

    def entries(self) -> list[tuple[schema.Lease, schema.StatusUpdate | None]]:
        """What an earlier runner process left: (lease, final report or None if unfinished)."""
        found = []
        for path in sorted(self.folder.glob("*.json")):
            try:
                entry = json.loads(path.read_text())
                final = entry["final"] and schema.StatusUpdate.model_validate(entry["final"])
                lease = schema.Lease.model_validate(entry["lease"])
                if self._path(lease.identifier) != path.resolve():
                    raise PathEscape("the entry's name is not its job's")
            except (OSError, ValueError, KeyError, TypeError, PathEscape) as exc:
                log.error("journal entry %s is not read (%s): it is left as it is", path, exc)
                continue
            found.append((lease, final or None))
        return found
