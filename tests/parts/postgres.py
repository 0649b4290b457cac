"""A throwaway PostgreSQL cluster: initdb into a temporary directory, serve on 127.0.0.1 only.

The server binaries come from Debian's packages (/usr/lib/postgresql/<version>/bin, highest
version wins). initdb refuses to run as root, so under root every server command runs as the
`postgres` OS user, and the data directory (which also holds the Unix socket and the log) is
owned by it. Only the postmaster this class started is ever stopped.
"""

from __future__ import annotations

import atexit
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from . import PartMissing

PG_ROOT = Path("/usr/lib/postgresql")
OS_USER = "postgres"
DB_USER = "postgres"
_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")


class ClusterError(RuntimeError):
    """A server command failed; the message holds its output and the server log's tail."""


def find_bindir() -> Path:
    """The bin directory of the highest installed PostgreSQL version that has initdb."""
    found = []
    for bindir in PG_ROOT.glob("*/bin"):
        version = bindir.parent.name
        if (bindir / "initdb").is_file() and (bindir / "pg_ctl").is_file():
            key = tuple(int(p) if p.isdigit() else 0 for p in version.split("."))
            found.append((key, bindir))
    if not found:
        raise PartMissing(
            f"no PostgreSQL server binaries under {PG_ROOT}/*/bin "
            "(install them with: bash .ci/install-system.sh)"
        )
    return max(found)[1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresCluster:
    def __init__(self, timeout: float = 30.0) -> None:
        self.timeout = timeout
        self.bindir: Path | None = None
        self.datadir: Path | None = None
        self.port: int | None = None
        self._running = False

    # -- life cycle ----------------------------------------------------------------------------

    def start(self) -> PostgresCluster:
        if self._running:
            return self
        try:
            import psycopg  # noqa: F401
        except ImportError as e:
            raise PartMissing(f"psycopg is not installed: {e}") from e
        self.bindir = find_bindir()
        as_root = os.geteuid() == 0
        if as_root:
            try:
                owner = pwd.getpwnam(OS_USER)
            except KeyError as e:
                raise PartMissing(f"running as root but there is no {OS_USER!r} OS user") from e
            if shutil.which("runuser") is None:
                raise PartMissing("running as root but runuser is not installed")
        # Under root, /tmp rather than $TMPDIR: the postgres user must be able to reach it.
        self.datadir = Path(tempfile.mkdtemp(prefix="pg-test-", dir="/tmp" if as_root else None))
        if as_root:
            os.chown(self.datadir, owner.pw_uid, owner.pw_gid)
        atexit.register(self.stop)
        try:
            flags = f"-A trust -U {DB_USER} -E UTF8 --no-locale --no-sync"
            self._run("initdb", "-D", self.datadir, *flags.split())
            self._start_server()
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_server(self, attempts: int = 3) -> None:
        # The port is free when chosen but another process may take it first: retry a few times.
        for attempt in range(attempts):
            self.port = free_port()
            options = (
                f"-p {self.port} -k '{self.datadir}' -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            )
            try:
                # -l: the server must not inherit our pipes, or capturing pg_ctl's output hangs.
                log = self.datadir / "server.log"
                wait = f"-t {int(self.timeout)} -w start"
                self._run("pg_ctl", "-D", self.datadir, "-o", options, "-l", log, *wait.split())
                self._running = True
                return
            except ClusterError:
                # Retry only if no postmaster was left behind (a port taken meanwhile).
                if attempt == attempts - 1 or self._pidfile().exists():
                    raise

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + self.timeout
        while True:
            try:
                with psycopg.connect(self._dsn("postgres"), connect_timeout=2) as conn:
                    conn.execute("SELECT 1")
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        """Stop our postmaster (if it runs) and delete the data directory. Safe to call twice."""
        if self.datadir is None:
            return
        if self._running or self._pidfile().exists():
            try:
                self._run("pg_ctl", "-D", self.datadir, "-m", "fast", "-w", "stop")
            except ClusterError:
                self._run(
                    "pg_ctl", "-D", self.datadir, "-m", "immediate", "-w", "stop", check=False
                )
            self._running = False
        shutil.rmtree(self.datadir, ignore_errors=True)
        self.datadir = None
        atexit.unregister(self.stop)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- databases -----------------------------------------------------------------------------

    def url(self, dbname: str) -> str:
        """The SQLAlchemy URL of database `dbname` in this cluster."""
        if self.port is None:
            raise RuntimeError("the cluster is not started")
        return f"postgresql+psycopg://{DB_USER}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """Create database `name` and return its SQLAlchemy URL."""
        self._admin(f"CREATE DATABASE {self._checked(name)}")
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop database `name`, closing any connections still open to it."""
        self._admin(f"DROP DATABASE IF EXISTS {self._checked(name)} WITH (FORCE)")

    # -- helpers -------------------------------------------------------------------------------

    @staticmethod
    def _checked(name: str) -> str:
        if not _NAME.fullmatch(name):
            raise ValueError(f"not a plain database name: {name!r}")
        return name

    def _pidfile(self) -> Path:
        assert self.datadir is not None
        return self.datadir / "postmaster.pid"

    def _dsn(self, dbname: str) -> str:
        return f"host=127.0.0.1 port={self.port} user={DB_USER} dbname={dbname}"

    def _admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(self._dsn("postgres"), autocommit=True) as conn:
            conn.execute(statement)

    def _run(self, program: str, *args: object, check: bool = True) -> None:
        assert self.bindir is not None and self.datadir is not None
        command = [str(self.bindir / program), *map(str, args)]
        if os.geteuid() == 0:
            command = ["runuser", "-u", OS_USER, "--", *command]
        result = subprocess.run(
            command,
            cwd=self.datadir,  # the postgres user may not be able to enter our working directory
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=self.timeout + 30,
        )
        if check and result.returncode != 0:
            log = self.datadir / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise ClusterError(
                f"{' '.join(command)} exited with {result.returncode}\n"
                f"{result.stdout}{result.stderr}{tail}"
            )
