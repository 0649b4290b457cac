"""Each job's folder on the site, with a bounded disk: a job cannot fill the site's disk.

As root, the runner gives each job a file system of its own: a sparse ext4 image of the
quota's size (`<workdir>/disks/<job>.img`, costing only what is written) loop-mounted on
`<workdir>/jobs/<job>`, whose `workspace/` is the job's folder (the checkout is written
into the same file system, so a huge repository counts too). A job that writes past it
gets "No space left on device" and nothing else on the site's disk moves; the runner then
fails it, saying so. The image is made with lazily initialised inode tables, no journal
and one inode per 64 KB, and mounted `noinit_itable,nosuid,nodev`: making it costs about
0.06 s, unmounting and deleting it 0.1 s (`tests/benchmarks/bench_quota.py`). It is
unmounted (its loop device going with it) before the job's end is reported, deleted after.
A runner that died leaves mounts behind, which the next one removes at start
(`sweep`), keeping those of the jobs it follows on.

Without root (or without mkfs.ext4), the folder is a plain one and a watcher measures it
every `every` seconds while the job runs, stopping the job once it passes the quota: a
soft bound: a job may pass it by what it writes in a second.

The folders are private: the site's work folder is made 0700, so a job running as another
user (Docker, Slurm) cannot list or read the journal, the store, the logs or another job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

log = logging.getLogger(__name__)

JOBS, DISKS, WORKSPACE = "jobs", "disks", "workspace"
BYTES_PER_INODE = 65536
MIN_MB = 16


def over_quota(limit_mb: int) -> str:
    return f"stopped: its folder passed this backend's limit of {limit_mb} MB"


class JobFolders:
    """The job folders of one site work folder, each bounded to `limit_mb`."""

    def __init__(self, workdir: Path, limit_mb: int = 10240, every: float = 1.0) -> None:
        self.workdir = Path(workdir)
        self.limit_mb = max(MIN_MB, int(limit_mb))
        self.every = every
        self.hard = os.geteuid() == 0 and all(
            shutil.which(tool) or os.path.exists(f"/usr/sbin/{tool}")
            for tool in ("mkfs.ext4", "mount", "umount")
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(OSError):  # not ours (a shared folder): leave its mode
            os.chmod(self.workdir, 0o700)
        self.over: set[Path] = set()  # folders the watcher found past the quota

    def describe(self) -> dict:
        kind = "hard (a file system per job)" if self.hard else "soft (measured each second)"
        return {"job_disk_mb": self.limit_mb, "job_disk": kind}

    # -- paths ------------------------------------------------------------------------------

    def root(self, identifier: str) -> Path:
        """The job's mount point; its `workspace/` is the job's folder."""
        return self.workdir / JOBS / identifier

    def folder(self, identifier: str) -> Path:
        return self.root(identifier) / WORKSPACE

    def image(self, identifier: str) -> Path:
        return self.workdir / DISKS / f"{identifier}.img"

    # -- life of a job's folder -------------------------------------------------------------

    def make(self, identifier: str) -> Path:
        """A fresh, empty job folder with its own bounded disk (as root); its path."""
        root = self.root(identifier)
        self.remove(identifier)  # an earlier attempt's
        root.mkdir(parents=True, mode=0o700)
        if self.hard:
            image = self.image(identifier)
            image.parent.mkdir(mode=0o700, exist_ok=True)
            with open(image, "wb") as f:
                f.truncate(self.limit_mb * 1024 * 1024)
            _run(
                "mkfs.ext4",
                "-q",
                "-F",
                "-m",
                "0",
                "-O",
                "^has_journal",
                "-i",
                str(BYTES_PER_INODE),
                "-E",
                "lazy_itable_init=1,nodiscard",
                str(image),
            )
            _run("mount", "-o", "loop,noinit_itable,nosuid,nodev", str(image), str(root))
            os.chmod(root, 0o700)
            with contextlib.suppress(OSError):
                (root / "lost+found").rmdir()
        folder = root / WORKSPACE
        folder.mkdir(mode=0o755, exist_ok=True)
        return folder

    def full(self, identifier: str) -> bool:
        """Whether the job's folder reached its quota (its disk or its inodes ran out)."""
        root = self.root(identifier)
        if root in self.over:
            return True
        if not self.hard or not os.path.ismount(root):
            return _size(root) >= self.limit_mb * 1024 * 1024
        info = os.statvfs(root)
        return info.f_bavail * info.f_frsize < 1024 * 1024 or info.f_favail == 0

    def release(self, identifier: str) -> None:
        """Unmount the job's disk (its loop device goes with it); `remove` deletes the rest."""
        root = self.root(identifier)
        if os.path.ismount(root):
            unmount(root)

    def remove(self, identifier: str) -> None:
        """Unmount the job's disk (lazily if a process still holds it), delete it all."""
        root = self.root(identifier)
        self.over.discard(root)
        if os.path.ismount(root):
            unmount(root)
        shutil.rmtree(root, ignore_errors=True)
        self.image(identifier).unlink(missing_ok=True)

    def sweep(self, keep: set[str]) -> None:
        """After a restart: remove every job folder, mount and image but those of `keep`."""
        for mount in mounts_under(self.workdir / JOBS):
            if mount.parent == self.workdir / JOBS and mount.name not in keep:
                unmount(mount)
        for parent, suffix in ((self.workdir / JOBS, ""), (self.workdir / DISKS, ".img")):
            if parent.is_dir():
                for entry in parent.iterdir():
                    if entry.name.removesuffix(suffix) not in keep:
                        self.remove(entry.name.removesuffix(suffix))

    @contextlib.asynccontextmanager
    async def watched(
        self, identifier: str, stop: Callable[[], Awaitable[None]]
    ) -> AsyncIterator[None]:
        """While the job runs: without a disk of its own, measure its folder and `stop` the
        job once it passes the quota (a hard quota needs no watching)."""
        if self.hard:
            yield
            return
        root = self.root(identifier)

        async def watch() -> None:
            while True:
                await asyncio.sleep(self.every)
                if await asyncio.to_thread(_size, root) >= self.limit_mb * 1024 * 1024:
                    self.over.add(root)
                    await stop()
                    return

        task = asyncio.create_task(watch())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def mounts_under(folder: Path) -> list[Path]:
    """Mount points at or below `folder`, deepest first (from /proc/self/mountinfo)."""
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = Path(_unescape(line.split()[4]))
            if point == folder or folder in point.parents:
                found.append(point)
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash as octal escapes."""
    for code in ("\\040", "\\011", "\\012", "\\134"):
        field = field.replace(code, chr(int(code[1:], 8)))
    return field


def unmount(point: Path) -> None:
    try:
        _run("umount", str(point))
    except DiskError:  # busy: a straggling process; it goes when that process does
        with contextlib.suppress(DiskError):
            _run("umount", "-l", str(point))


class DiskError(Exception):
    """mkfs or mount failed: the job cannot have its bounded folder."""


def _run(*args: str) -> None:
    result = subprocess.run(args, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if result.returncode != 0:
        said = (result.stderr or result.stdout).strip().splitlines()
        raise DiskError(f"{args[0]} failed: {said[-1] if said else result.returncode}")


def _size(root: Path) -> int:
    """Bytes the folder's files take on disk (allocated blocks: a sparse file counts as
    written), links not followed."""
    total = 0
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(folder, name)).st_blocks * 512
    return total
