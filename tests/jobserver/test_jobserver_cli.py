"""`jupyter ext jobserver` and `jupyter ext admin`, run as an administrator runs them.

Every test runs the installed `jupyter-ext` script in a real process, in a folder of its
own (so that no stray `jupyter_ext_config.py` is read), on SQLite and on a real
PostgreSQL (the `db_url` fixture). Every subprocess call has a timeout; servers listen on
127.0.0.1 only and are stopped by their own pid.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy.pool import NullPool

from jupyter_ext.jobserver import db, orm

SCRIPT = Path(sys.executable).with_name("jupyter-ext")
TIMEOUT = 60  # seconds for any one command that should end by itself
START_TIMEOUT = 30  # seconds for the job server to answer
STOP_TIMEOUT = 10  # seconds for the job server to exit after SIGTERM
UPGRADE_HINT = "run `jupyter ext jobserver --upgrade-db`"
ROLES = "core_developer, data_investigator, governance_reviewer"
# for what does not depend on the database: SQLite only (the db_url fixture, narrowed)
SQLITE_ONLY = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


# -- running the command ---------------------------------------------------------------------


def new_key() -> str:
    return Fernet.generate_key().decode()


def environment(crypt_key: str | None = None, **extra: str) -> dict[str, str]:
    """This process's environment without what would change the job server's settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("JUPYTERHUB_") and k != "JUPYTER_EXT_CRYPT_KEY"
    }
    env["PYTHONWARNINGS"] = "ignore"
    if crypt_key is not None:
        env["JUPYTER_EXT_CRYPT_KEY"] = crypt_key
    return {**env, **extra}


def jupyter_ext(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess:
    if not SCRIPT.exists():
        pytest.skip(f"the jupyter-ext script is not installed next to {sys.executable}")
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env if env is not None else environment(),
        timeout=timeout,
    )


def ok(result: subprocess.CompletedProcess) -> str:
    """The output of a command that must succeed, without a word on stderr."""
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result.stdout


def refused(result: subprocess.CompletedProcess, *sentences: str, code: int | None = None) -> None:
    """The command stopped, saying why on stderr, without a traceback and printing nothing."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    if code is not None:
        assert result.returncode == code, output
    assert "Traceback" not in output, output
    assert result.stdout == ""
    for sentence in sentences:
        assert sentence in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_refused(cwd: Path, url: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Start the job server where it must refuse to start (so it ends by itself)."""
    port = str(free_port())
    args = ("jobserver", "--ip", "127.0.0.1", "--port", port, "--db-url", url)
    return jupyter_ext(*args, cwd=cwd, env=env, timeout=START_TIMEOUT)


# -- looking at the database from outside ------------------------------------------------


def snapshot(url: str) -> dict[str, Any]:
    """Every table's columns, indexes and rows: equal snapshots, unchanged database."""
    engine = sa.create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            inspector = sa.inspect(connection)
            found: dict[str, Any] = {}
            for table in sorted(inspector.get_table_names()):
                rows = connection.execute(sa.text(f'SELECT * FROM "{table}"')).all()
                found[table] = {
                    "columns": [c["name"] for c in inspector.get_columns(table)],
                    "indexes": sorted(i["name"] or "" for i in inspector.get_indexes(table)),
                    "rows": sorted((tuple(row) for row in rows), key=repr),
                }
            return found
    finally:
        engine.dispose()


def revision(url: str) -> list[str]:
    return [row[0] for row in snapshot(url)["alembic_version"]["rows"]]


def usernames(url: str) -> list[str]:
    return [row[1] for row in snapshot(url)["users"]["rows"]]


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """The folder the commands run in: empty, so no jupyter_ext_config.py is read."""
    path = tmp_path / "cwd"
    path.mkdir()
    return path


@pytest.fixture
def upgraded(db_url: str, workdir: Path) -> str:
    """`db_url`, with the schema made by `jupyter ext jobserver --upgrade-db`."""
    ok(jupyter_ext("jobserver", "--upgrade-db", "--db-url", db_url, cwd=workdir))
    return db_url


@dataclass
class Seeded:
    url: str
    token: str  # alice's API token
    runner_token: str  # tpp's runner token


@pytest.fixture
def seeded(upgraded: str, workdir: Path) -> Seeded:
    """alice (core_developer) with an API token; the organisation uni, with the backend tpp."""

    def admin(*args: str) -> str:
        return ok(jupyter_ext("admin", *args, "--db-url", upgraded, cwd=workdir)).strip()

    admin("add-user", "alice", "--role", "core_developer")
    token = admin("token", "alice")
    admin("add-org", "uni")
    runner_token = admin("add-backend", "tpp", "--org", "uni")
    return Seeded(upgraded, token, runner_token)


# -- a running job server ----------------------------------------------------------------


@dataclass
class Running:
    process: subprocess.Popen
    root: str  # http://127.0.0.1:PORT
    api: str  # root + base URL + api/v1
    log: Path

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.api, headers=headers, timeout=10)

    def stop(self) -> tuple[int, float]:
        """SIGTERM to this process only; its exit status and how long it took."""
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        try:
            status = self.process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail(f"the job server was still running {STOP_TIMEOUT} s after SIGTERM")
        return status, time.monotonic() - started

    def output(self) -> str:
        return self.log.read_text()


@contextlib.contextmanager
def jobserver(
    cwd: Path, url: str, *args: str, base_url: str = "", env: dict[str, str] | None = None
) -> Iterator[Running]:
    """`jupyter ext jobserver` on a free 127.0.0.1 port, once `GET /api/v1/me` answers."""
    if not SCRIPT.exists():
        pytest.skip(f"the jupyter-ext script is not installed next to {sys.executable}")
    port = free_port()
    log = cwd / f"jobserver-{port}.log"
    argv = [str(SCRIPT), "jobserver", "--ip", "127.0.0.1", "--port", str(port), "--db-url", url]
    argv += [*args, *(["--base-url", base_url] if base_url else [])]
    with log.open("w") as out:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env if env is not None else environment(crypt_key=new_key()),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    root = f"http://127.0.0.1:{port}"
    prefix = f"/{base_url.strip('/')}" if base_url.strip("/") else ""
    server = Running(process, root, f"{root}{prefix}/api/v1", log)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"the job server exited ({process.returncode}):\n{server.output()}")
            try:
                if httpx.get(f"{server.api}/me", timeout=2).status_code == 401:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the job server did not answer in {START_TIMEOUT} s")
            time.sleep(0.1)
        yield server
    finally:
        if process.poll() is None:  # the test failed before stopping it
            process.kill()
        process.wait(timeout=STOP_TIMEOUT)


def stopped_cleanly(server: Running) -> None:
    status, took = server.stop()
    # uvicorn shuts down gracefully, then re-raises the signal: 0 or "killed by SIGTERM"
    assert status in (0, -signal.SIGTERM), server.output()
    assert took < STOP_TIMEOUT
    assert "Traceback" not in server.output()


# -- 1. jupyter ext jobserver --upgrade-db -------------------------------------------------


def test_upgrade_db_creates_the_schema_and_a_second_run_changes_nothing(db_url, workdir):
    assert snapshot(db_url) == {}
    ok(jupyter_ext("jobserver", "--upgrade-db", "--db-url", db_url, cwd=workdir))
    made = snapshot(db_url)
    assert set(made) == {*orm.Base.metadata.tables, "alembic_version"}
    assert revision(db_url) == [db.head_revision()]
    ok(jupyter_ext("admin", "add-user", "alice", "--db-url", db_url, cwd=workdir))
    before = snapshot(db_url)
    assert before["users"]["rows"]

    ok(jupyter_ext("jobserver", "--upgrade-db", "--db-url", db_url, cwd=workdir))
    assert snapshot(db_url) == before
    assert not list(workdir.glob("*.sqlite"))  # nothing made in the default place


# -- 2. refusing to start on a database it was not upgraded for ------------------------------


def test_jobserver_and_admin_refuse_an_empty_database(db_url, workdir):
    env = environment(crypt_key=new_key())
    result = start_refused(workdir, db_url, env)
    refused(result, "is empty: ", f"{UPGRADE_HINT} to create its tables")
    refused(
        jupyter_ext("admin", "list", "users", "--db-url", db_url, cwd=workdir),
        f"{UPGRADE_HINT} to create its tables",
    )
    assert snapshot(db_url) == {}  # neither made a table on its own


def test_jobserver_refuses_a_database_downgraded_to_nothing(upgraded, workdir):
    config = db.alembic_config()
    engine = db.migration_engine(upgraded)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "base")
    finally:
        engine.dispose()
    assert set(snapshot(upgraded)) == {"alembic_version"}

    result = start_refused(workdir, upgraded, environment(crypt_key=new_key()))
    refused(result, "is empty: ", UPGRADE_HINT)
    ok(jupyter_ext("jobserver", "--upgrade-db", "--db-url", upgraded, cwd=workdir))
    assert revision(upgraded) == [db.head_revision()]


NEWER = "9999_test_only"  # the revision of the migration a newer jupyter-ext would bring


@pytest.fixture
def newer_jupyter_ext(tmp_path: Path) -> dict[str, str]:
    """The environment of a jupyter-ext one migration newer than this one.

    A `sitecustomize` on PYTHONPATH points the job server at a copy of its migrations
    plus one more that changes nothing; the product's code is otherwise the same.
    """
    shim = tmp_path / "newer-jupyter-ext"
    migrations = shim / "migrations"
    shutil.copytree(db.MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / f"{NEWER}.py").write_text(
        f'"""nothing"""\n\nrevision = "{NEWER}"\ndown_revision = "{db.head_revision()}"\n'
        "branch_labels = None\ndepends_on = None\n\n\n"
        "def upgrade():\n    pass\n\n\ndef downgrade():\n    pass\n"
    )
    (shim / "sitecustomize.py").write_text(
        "from pathlib import Path\n\n"
        "import jupyter_ext.jobserver.db\n\n"
        'jupyter_ext.jobserver.db.MIGRATIONS = Path(__file__).with_name("migrations")\n'
    )
    return {"PYTHONPATH": str(shim)}


def test_an_old_database_is_refused_until_upgraded_and_then_is_too_new_for_the_old_version(
    upgraded, workdir, newer_jupyter_ext
):
    head = db.head_revision()
    newer = environment(crypt_key=new_key(), **newer_jupyter_ext)
    hint = f"is at revision {head}, this jupyter-ext needs {NEWER}: {UPGRADE_HINT} (back it up"
    refused(start_refused(workdir, upgraded, newer), hint)
    refused(
        jupyter_ext("admin", "list", "users", "--db-url", upgraded, cwd=workdir, env=newer), hint
    )
    assert revision(upgraded) == [head]

    ok(jupyter_ext("jobserver", "--upgrade-db", "--db-url", upgraded, cwd=workdir, env=newer))
    assert revision(upgraded) == [NEWER]
    with jobserver(workdir, upgraded, env=newer) as server:
        stopped_cleanly(server)

    # this jupyter-ext, older than the database now
    result = start_refused(workdir, upgraded, environment(crypt_key=new_key()))
    refused(result, f"is at revision {NEWER}, which jupyter-ext", "install that version")


def test_jobserver_refuses_tables_it_did_not_make(db_url, workdir):
    engine = db.make_engine(db_url)
    try:
        orm.Base.metadata.create_all(engine)
    finally:
        engine.dispose()
    before = snapshot(db_url)
    result = start_refused(workdir, db_url, environment(crypt_key=new_key()))
    refused(result, "but no alembic revision", "give the job server a database of its own")
    assert snapshot(db_url) == before


# -- 3. jupyter ext admin ------------------------------------------------------------------


@SQLITE_ONLY  # the same code on both databases; the slow part is starting processes
def test_admin_sets_up_users_tokens_organisations_and_backends(upgraded, workdir):
    def admin(*args: str) -> str:
        return ok(jupyter_ext("admin", *args, "--db-url", upgraded, cwd=workdir))

    assert (
        admin("add-user", "alice", "--role", "core_developer") == "Added alice (core_developer)\n"
    )
    assert (
        admin("add-user", "carol", "--role", "output_checker", "--role", "core_developer")
        == "Added carol (core_developer, output_checker)\n"
    )
    assert admin("add-user", "dan") == "Added dan (no global role)\n"

    printed = admin("token", "alice")
    [token] = printed.splitlines()
    assert printed == token + "\n"
    assert re.fullmatch(r"jxa_[A-Za-z0-9_-]{40,}", token)
    again = admin("token", "alice", "--name", "laptop").strip()
    assert again.startswith("jxa_")
    assert again != token

    assert admin("add-org", "uni") == "Added the organisation uni\n"
    assert admin("add-org", "big-trust", "--name", "The Big Trust") == (
        "Added the organisation big-trust\n"
    )
    printed = admin("add-backend", "tpp", "--org", "uni")
    [runner_token] = printed.splitlines()
    assert re.fullmatch(r"jxr_[A-Za-z0-9_-]{40,}", runner_token)

    assert (
        admin("list", "users")
        == "alice\tcore_developer\ncarol\tcore_developer,output_checker\ndan\t\n"
    )
    assert admin("list", "orgs") == "big-trust\tThe Big Trust\t\nuni\tUni\ttpp\n"
    assert admin("list", "backends") == "tpp\tTPP\tfull\tnever seen\n"

    # printed once: only hashes are kept
    stored = repr(snapshot(upgraded))
    for secret in (token, again, runner_token):
        assert secret not in stored


ADMIN_ERRORS = [
    (("add-user", "bob", "--role", "wizard"), f"error: unknown role wizard: use {ROLES}"),
    (("add-user", "alice"), "error: the user alice exists already"),
    (("add-org", "uni"), "error: the organisation uni exists already"),
    (
        ("add-backend", "emis", "--org", "nowhere"),
        "error: there is no organisation 'nowhere': give --org=SLUG of one",
    ),
    (("add-backend", "emis"), "error: there is no organisation '': give --org=SLUG of one"),
    (
        ("add-backend", "emis", "--org", "uni", "--log-policy", "verbose"),
        "error: --log-policy must be full, redacted or status",
    ),
    (
        ("token", "nobody"),
        "error: there is no user nobody: add it with `jupyter ext admin add-user`",
    ),
    (("list", "things"), "error: list what? users, orgs or backends"),
]


@SQLITE_ONLY
def test_admin_errors_exit_2_with_a_sentence_and_change_nothing(seeded, workdir):
    before = snapshot(seeded.url)
    for args, sentence in ADMIN_ERRORS:
        result = jupyter_ext("admin", *args, "--db-url", seeded.url, cwd=workdir)
        refused(result, sentence, code=2)
        assert result.stderr.count("\n") == 1, result.stderr  # one sentence
        assert snapshot(seeded.url) == before, args


@SQLITE_ONLY
def test_admin_without_its_argument_says_what_to_give(upgraded, workdir):
    for args, sentence in [
        (("token",), "error: give one username: jupyter ext admin token USERNAME"),
        (("list",), "error: give one users|orgs|backends: jupyter ext admin list"),
        (("add-user", "a", "b"), "error: give one username: jupyter ext admin add-user USERNAME"),
    ]:
        refused(jupyter_ext("admin", *args, "--db-url", upgraded, cwd=workdir), sentence)
    assert usernames(upgraded) == []


# -- 4. the job server, for real -------------------------------------------------------------


@pytest.mark.parametrize("base_url", ["", "/services/jobserver/"], ids=["root", "prefixed"])
def test_jobserver_serves_the_api_to_the_printed_token(seeded, workdir, base_url):
    prefix = base_url.rstrip("/")
    with jobserver(workdir, seeded.url, base_url=base_url) as server:
        with server.client() as anonymous:
            response = anonymous.get("/me")
            assert response.status_code == 401
            assert response.headers["www-authenticate"] == "Bearer"
            assert "sign in" in response.json()["detail"]
            schema = anonymous.get("/openapi.json")
            assert schema.status_code == 200
            assert f"{prefix}/api/v1/job-requests" in schema.json()["paths"]
            assert f"{prefix}/api/v1/me" in schema.json()["paths"]

        with server.client(seeded.token) as alice:
            me = alice.get("/me")
            assert me.status_code == 200
            assert me.json()["username"] == "alice"
            assert me.json()["roles"] == ["core_developer"]
            backends = alice.get("/backends")
            assert backends.status_code == 200
            assert [(b["slug"], b["online"]) for b in backends.json()] == [("tpp", False)]

        with server.client("jxa_not-a-token") as stranger:
            assert stranger.get("/me").status_code == 401

        with server.client(seeded.runner_token) as runner:
            poll = runner.post("/runner/poll", json={"wait": 0})
            assert poll.status_code == 200, poll.text
            assert poll.json() == []

        if prefix:
            assert httpx.get(f"{server.root}/api/v1/me", timeout=10).status_code == 404

        stopped_cleanly(server)


@SQLITE_ONLY
def test_jobserver_without_a_crypt_key_says_how_to_make_one(upgraded, workdir):
    result = start_refused(workdir, upgraded, environment())
    refused(
        result, "error: no encryption key: ", "JUPYTER_EXT_CRYPT_KEY", "JobServerApp.crypt_keys"
    )
    # the recipe it gives works
    [recipe] = re.findall(r"`python -c '([^']+)'`", result.stderr)
    made = subprocess.run(
        [sys.executable, "-c", recipe], capture_output=True, text=True, timeout=TIMEOUT
    )
    assert made.returncode == 0, made.stderr
    Fernet(made.stdout.strip().encode())  # a valid key

    result = start_refused(workdir, upgraded, environment(crypt_key="not-a-key"))
    refused(result, "error: ", "Fernet key")


@SQLITE_ONLY
def test_crypt_keys_from_the_config_file(seeded, workdir):
    (workdir / "jupyter_ext_config.py").write_text(f"c.JobServerApp.crypt_keys = [{new_key()!r}]\n")
    with jobserver(workdir, seeded.url, env=environment()) as server:
        with server.client(seeded.token) as alice:
            assert alice.get("/me").json()["username"] == "alice"
        stopped_cleanly(server)


@SQLITE_ONLY
def test_jobserver_stops_on_sigterm_with_an_event_stream_open(seeded, workdir):
    with jobserver(workdir, seeded.url) as server:
        opened = threading.Event()

        def listen() -> None:
            headers = {"Authorization": f"Bearer {seeded.token}"}
            url = f"{server.api}/events"
            with (
                contextlib.suppress(httpx.HTTPError),
                httpx.stream("GET", url, headers=headers, timeout=30) as stream,
            ):
                opened.set()
                for _ in stream.iter_lines():
                    pass

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert opened.wait(10), "the event stream did not open"
        stopped_cleanly(server)
        listener.join(10)
        assert not listener.is_alive()


@SQLITE_ONLY
def test_jobserver_stops_on_sigterm_while_a_runner_long_polls(seeded, workdir):
    with jobserver(workdir, seeded.url) as server:
        polling = threading.Event()

        def poll() -> None:
            headers = {"Authorization": f"Bearer {seeded.runner_token}"}
            with contextlib.suppress(httpx.HTTPError):
                polling.set()
                httpx.post(
                    f"{server.api}/runner/poll", json={"wait": 60}, headers=headers, timeout=90
                )

        runner = threading.Thread(target=poll, daemon=True)
        runner.start()
        assert polling.wait(10)
        time.sleep(1)  # the poll is now waiting inside the server
        stopped_cleanly(server)


@SQLITE_ONLY
def test_jobserver_on_a_port_in_use_says_so(upgraded, workdir):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        result = jupyter_ext(
            *("jobserver", "--ip", "127.0.0.1", "--port", port, "--db-url", upgraded),
            cwd=workdir,
            env=environment(crypt_key=new_key()),
            timeout=START_TIMEOUT,
        )
    refused(result, "address already in use")


@SQLITE_ONLY
def test_base_url_without_a_leading_slash_is_taken_from_the_root(seeded, workdir):
    # JupyterHub normalises its base_url so; here the server never starts
    with jobserver(workdir, seeded.url, base_url="services/jobserver/") as server:
        assert server.api == f"{server.root}/services/jobserver/api/v1"
        with server.client(seeded.token) as alice:
            assert alice.get("/me").json()["username"] == "alice"
        stopped_cleanly(server)


@pytest.mark.parametrize(
    "args",
    [
        ("jobserver", "--upgrade-db"),
        ("jobserver", "--ip", "127.0.0.1", "--port", str(free_port())),
        ("admin", "list", "users"),
    ],
    ids=["upgrade-db", "jobserver", "admin"],
)
def test_a_database_that_cannot_be_opened_is_a_sentence_not_a_traceback(tmp_path, workdir, args):
    url = f"sqlite:///{tmp_path / 'no-such-folder' / 'js.sqlite'}"
    result = jupyter_ext(*args, "--db-url", url, cwd=workdir, env=environment(crypt_key=new_key()))
    refused(result, "error: ", "no-such-folder")


# -- 5. jupyter_ext_config.py ----------------------------------------------------------------


@SQLITE_ONLY
def test_config_file_db_url_is_used_by_upgrade_db_and_admin(db_url, workdir, tmp_path):
    (workdir / "jupyter_ext_config.py").write_text(f"c.JobServerApp.db_url = {db_url!r}\n")
    ok(jupyter_ext("jobserver", "--upgrade-db", cwd=workdir))
    assert revision(db_url) == [db.head_revision()]
    ok(jupyter_ext("admin", "add-user", "alice", "--role", "core_developer", cwd=workdir))
    assert ok(jupyter_ext("admin", "list", "users", cwd=workdir)) == "alice\tcore_developer\n"
    assert usernames(db_url) == ["alice"]
    assert not (workdir / "jupyter_ext_jobserver.sqlite").exists()  # not the default

    # the command line wins over the file
    other = f"sqlite:///{tmp_path / 'other.sqlite'}"
    refused(jupyter_ext("admin", "list", "users", "--db-url", other, cwd=workdir), "is empty")
    # as does AdminCommand.db_url, the admin commands' own setting
    with (workdir / "jupyter_ext_config.py").open("a") as f:
        f.write(f"c.AdminCommand.db_url = {other!r}\n")
    refused(jupyter_ext("admin", "list", "users", cwd=workdir), "is empty")

    # --config names a file elsewhere
    elsewhere = tmp_path / "elsewhere.py"
    elsewhere.write_text(f"c.JobServerApp.db_url = {db_url!r}\n")
    listed = jupyter_ext("admin", "list", "users", f"--config={elsewhere}", cwd=tmp_path)
    assert ok(listed) == "alice\tcore_developer\n"
