"""A site under attack: the real job server, a site folder with neighbours, real runners.

`Site` lays a temporary folder out as a real site would be: the runner's folder
(`around/site`) beside a decoy of the host's other files (`around/outside`) and
the data roots (`around/data`); the job server's database and the analysts'
repositories sit elsewhere. `FileSystemWatch` photographs everything around the
site folder before an attack and says what changed after it: the site's own
folder may change, nothing else may. Hostile repositories aim absolute paths
at `/tmp/<marker>...`, so the watch also looks for the marker there.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import socket
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from ..jobserver.conftest import build_world
from ..jobserver.harness import JobServer, git
from ..runner.test_local_runner import RunnerThread

FINISHED = ("succeeded", "failed", "cancelled")
DECOY = {
    "notes.txt": "the host's own notes\n",
    "keys/id_ed25519": "-----BEGIN OPENSSH PRIVATE KEY----- (decoy)\n",
    "other-site/workspaces/theirs/output/table.csv": "region,n\nnorth,40\n",
}
# where an absolute path chosen by an attacker could land, besides the folders walked
ABSOLUTE_SPOTS = ("/tmp", "/", "/root", "/etc", "/var/tmp")


@dataclass(frozen=True)
class Entry:
    kind: str  # file, dir, link, other
    size: int
    mtime_ns: int
    mode: int
    target: str  # a link's target, a small file's sha256


def _entry(path: Path) -> Entry:
    info = path.lstat()
    if stat.S_ISLNK(info.st_mode):
        return Entry("link", 0, info.st_mtime_ns, info.st_mode, os.readlink(path))
    if stat.S_ISDIR(info.st_mode):
        return Entry("dir", 0, info.st_mtime_ns, info.st_mode, "")
    if stat.S_ISREG(info.st_mode):
        digest = ""
        if info.st_size <= 1 << 20:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return Entry("file", info.st_size, info.st_mtime_ns, info.st_mode, digest)
    return Entry("other", info.st_size, info.st_mtime_ns, info.st_mode, "")


class FileSystemWatch:
    """What is in the walked folders (links not followed), except the site's own folder."""

    def __init__(self, roots: list[Path], allowed: list[Path], marker: str) -> None:
        self.roots, self.allowed, self.marker = roots, [p.resolve() for p in allowed], marker
        self.before = self.snapshot()

    def _allowed(self, path: Path) -> bool:
        return any(path == a or a in path.parents for a in self.allowed)

    def snapshot(self) -> dict[str, Entry]:
        seen: dict[str, Entry] = {}
        for root in self.roots:
            for folder, dirs, files in os.walk(root):
                here = Path(folder)
                if self._allowed(here.resolve()):
                    dirs.clear()
                    continue
                for name in dirs + files:
                    path = here / name
                    if not self._allowed(path.resolve() if path.is_dir() else path):
                        with contextlib.suppress(FileNotFoundError):
                            seen[str(path)] = _entry(path)
                if here not in self.roots:
                    with contextlib.suppress(FileNotFoundError):
                        seen[str(here)] = _entry(here)
        return seen

    def marked(self) -> list[str]:
        """Paths named after this attack's marker in the places an absolute path could aim."""
        found = []
        for spot in ABSOLUTE_SPOTS:
            with contextlib.suppress(OSError):
                found += [f"{spot.rstrip('/')}/{n}" for n in os.listdir(spot) if self.marker in n]
        return found

    def changes(self) -> list[str]:
        """Every path created, changed or removed outside the allowed folders, described."""
        after = self.snapshot()
        problems = [f"created {p}" for p in sorted(after.keys() - self.before.keys())]
        problems += [f"removed {p}" for p in sorted(self.before.keys() - after.keys())]
        for path in sorted(after.keys() & self.before.keys()):
            old, new = self.before[path], after[path]
            if old.kind == "dir" and new.kind == "dir" and old.mode == new.mode:
                continue  # a folder's mtime moves with any entry, which is reported on its own
            if old != new:
                problems.append(f"changed {path}: {old} -> {new}")
        return problems + [f"created {p}" for p in self.marked()]


class Site:
    """The job server (SQLite, under uvicorn), the sample world, and a site folder around."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.around = tmp_path / "around"
        self.site = self.around / "site"  # the runner's workdir
        self.outside = self.around / "outside"  # the host's other files: a decoy
        self.data = self.around / "data"  # the site's data roots
        self.marker = f"attack-{secrets.token_hex(6)}"
        for relative, text in DECOY.items():
            (self.outside / relative).parent.mkdir(parents=True, exist_ok=True)
            (self.outside / relative).write_text(text)
        self.data.mkdir(parents=True)
        (tmp_path / "server").mkdir()
        self.world = build_world(
            JobServer(f"sqlite:///{tmp_path / 'server' / 'js.sqlite'}", tmp_path), tmp_path
        )
        self.world.user("checker", ["output_checker"])
        self.world.user("publisher", ["output_publisher"])
        self.world.user("governor", ["governance_reviewer"])
        self.world.project("uni", "Other study", {"coord": ["project_coordinator"]})
        self.repos = tmp_path / "repos"
        self.refusals: list = []  # answers of requests the job server refused (see `run`)

    # -- repositories and workspaces ---------------------------------------------------

    def repository(
        self,
        name: str,
        files: dict[str, str | bytes],
        links: dict[str, str] | None = None,
        project: str = "sample-study",
    ) -> str:
        """A git repository of `files` and symbolic `links` (path -> target), committed as
        they are (links stay links), and a workspace `name` of `project` on it; the commit.
        `MARKER` in a text or a link's target becomes this attack's marker."""
        folder = self.repos / f"r-{hashlib.sha256(name.encode()).hexdigest()[:12]}"
        for relative, content in files.items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content.replace("MARKER", self.marker))
        for relative, target in (links or {}).items():
            path = folder / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.symlink_to(target.replace("MARKER", self.marker))
        git(folder, "init", "-q", "-b", "main")
        git(folder, "add", ".")
        git(folder, "commit", "-q", "-m", "hostile")
        self.world.workspace(project, name, folder)
        return git(folder, "rev-parse", "HEAD")

    def dataset(self, name: str, rows: str, approved_for: list[str] = ()):
        """A dataset registered on this site (its folder in the data roots) and approved by
        a Governance Reviewer for `approved_for` projects; its lease entry."""
        from ..runner.test_datasets_site import register_on_site

        folder = self.data / name
        folder.mkdir(parents=True)
        (folder / "rows.csv").write_text(rows)
        leased = register_on_site(self.world, self.site, name, folder)
        for project in approved_for:
            ask = {"project": project, "backend": "tpp", "dataset": name, "purpose": "tests"}
            asked = self.world.client("coord").post("dataset-access", json=ask)
            asked.raise_for_status()
            self.world.client("governor").post(
                f"dataset-access/{asked.json()['id']}/approve", json={}
            ).raise_for_status()
        return leased

    # -- asking for jobs, as a project developer ---------------------------------------

    def submit(self, workspace: str, actions: list[str], user: str = "dev"):
        body = {"workspace": workspace, "backend": "tpp", "actions": actions}
        return self.world.client(user).post("job-requests", json=body)

    def wait(self, request_id: str, timeout: float = 180) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            request = self.world.client("dev").get(f"job-requests/{request_id}").json()
            if request["state"] in FINISHED:
                return request
            time.sleep(0.2)
        raise AssertionError(f"the job request did not finish in {timeout} s: {request}")

    def run(self, workspace: str, actions: list[str], timeout: float = 180) -> dict | None:
        """Submit and wait; None if the job server refused the request (checked by the caller
        through `refusal`)."""
        answer = self.submit(workspace, actions)
        if answer.status_code != 201:
            self.refusals.append(answer)
            return None
        return self.wait(answer.json()["id"], timeout)

    def runner(self, executor=None, **options) -> RunnerThread:
        """The real runner (its agent on its own loop), on this site's folder."""
        options.setdefault("data_roots", [str(self.data)])
        return RunnerThread(self.world, self.site, executor=executor, **options)

    # -- what may not happen ---------------------------------------------------------

    def watch(self) -> FileSystemWatch:
        """Photograph the site's surroundings: all of `tmp` but the site folder and the job
        server's database (which the job server writes as it should)."""
        return FileSystemWatch([self.tmp], [self.site, self.tmp / "server"], self.marker)

    def status_messages(self) -> list[str]:
        """Every job's status message, as the job server shows them to project members."""
        from sqlalchemy import select

        from jupyter_ext.jobserver import orm

        with self.world.factory() as session:
            jobs = session.scalars(select(orm.Job)).all()
            return [f"{job.identifier} ({job.action}): {job.status_message}" for job in jobs]

    def leaks(self, texts: list[str], theirs: list[str] = ()) -> list[str]:
        """The texts that show something of the site: its paths, a stack trace, its host.
        `theirs` are the attacker's own words (a link's target in their repository), which a
        message may quote."""
        host = socket.gethostname()
        secrets_of_site = [str(self.tmp), str(self.tmp.resolve()), "Traceback", 'File "/']
        if len(host) >= 8:
            secrets_of_site.append(host)
        leaked = []
        for text in texts:
            shown = text
            for words in sorted(theirs, key=len, reverse=True):
                shown = shown.replace(words, "")
            if any(s in shown for s in secrets_of_site):
                leaked.append(text)
        return leaked

    def close(self) -> None:
        self.world.close()
