"""The job server's database: engines, sessions and schema migrations.

Modelled on JupyterHub (`jupyterhub.orm` + `jupyterhub/alembic` + `jupyterhub upgrade-db`),
with one difference: the job server never creates or upgrades tables on its own. It checks
the schema at start-up with `check_db`, and `jupyter ext jobserver --upgrade-db` (`upgrade_db`)
applies the alembic migrations in `migrations/`, to an empty database as to an old one.

SQLite (a file, or `sqlite://` in memory for tests) and PostgreSQL (`postgresql+psycopg://`)
are supported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, StaticPool

from .._version import __version__

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
UPGRADE_COMMAND = "jupyter ext jobserver --upgrade-db"


class DatabaseOutOfDate(RuntimeError):
    """The database's schema is not the one this jupyter-ext was written for."""


def make_engine(url: str) -> Engine:
    """An engine for the job server.

    SQLite: usable from any thread, WAL journal (file databases), foreign keys enforced,
    `synchronous=NORMAL` (safe with WAL), and a 5 s wait on a locked database rather than
    an immediate error. `sqlite://` (in memory) gets one connection shared by every
    session, so they all see the same database. Other databases (PostgreSQL) check
    a pooled connection is alive before handing it out.
    """
    return _create_engine(url, migrating=False)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (the API serialises them then)."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def migration_engine(url: str) -> Engine:
    """An engine for running migrations (used by `upgrade_db` and `migrations/env.py`).

    Unlike `make_engine`'s, its SQLite connections have foreign keys off (SQLite rebuilds
    a table to alter it: with them on, dropping the old copy of a table would cascade
    deletes into the tables that point at it) and run DDL inside real transactions, so
    that a failed upgrade rolls back whole instead of leaving half a schema. No pool.
    """
    return _create_engine(url, migrating=True)


def upgrade_db(url: str | Engine, revision: str = "head") -> None:
    """Apply the migrations up to `revision` (all of them by default), in one transaction.

    `url` is a database URL; an `Engine` is also accepted, which is how to migrate an
    in-memory SQLite database (made by `make_engine("sqlite://")`). Running it on an
    up-to-date database does nothing.
    """
    config = alembic_config()
    if isinstance(url, Engine):
        # not migration_engine's transactional DDL here: on a SQLite file a failed
        # upgrade can stop half-way (in memory, nothing is lost)
        with (
            url.connect() as connection,
            _sqlite_foreign_keys_off(connection),  # exits after the commit, as it must
            connection.begin(),
        ):
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        return
    engine = migration_engine(url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
    finally:
        engine.dispose()


def head_revision() -> str:
    """The revision the newest migration brings a database to."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migrations in {MIGRATIONS}")
    return head


def check_db(engine: Engine) -> None:
    """Raise `DatabaseOutOfDate`, saying what to do, unless the schema is at the head."""
    where = engine.url.render_as_string(hide_password=True)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection)
        current = context.get_current_heads()
        # alembic_version stays, empty, after a downgrade to nothing
        tables = set(sa.inspect(connection).get_table_names()) - {context.version_table}
    if not tables:
        raise DatabaseOutOfDate(
            f"the database at {where} is empty: run `{UPGRADE_COMMAND}` to create its tables"
        )
    if not current:
        raise DatabaseOutOfDate(
            f"the database at {where} has tables ({', '.join(sorted(tables)[:5])}"
            f"{', ...' if len(tables) > 5 else ''}) but no alembic revision, so "
            f"`{UPGRADE_COMMAND}` did not make it: give the job server a database of its own"
        )
    head = head_revision()
    if current == (head,):
        return
    found = ", ".join(current)
    scripts = ScriptDirectory.from_config(alembic_config())
    unknown = [rev for rev in current if not _known(scripts, rev)]
    if unknown:
        raise DatabaseOutOfDate(
            f"the database at {where} is at revision {found}, which jupyter-ext {__version__} "
            f"does not know (it needs {head}): a newer jupyter-ext upgraded it; install that "
            "version, or restore the backup taken before the upgrade"
        )
    raise DatabaseOutOfDate(
        f"the database at {where} is at revision {found}, this jupyter-ext needs {head}: "
        f"run `{UPGRADE_COMMAND}` (back it up first)"
    )


def alembic_config() -> Config:
    """A programmatic alembic configuration: no alembic.ini is read, from anywhere.

    `migrations/env.py` takes its connection from `config.attributes["connection"]`, or,
    for the `alembic` command line, from the `sqlalchemy.url` option.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # one directory, no prepend_sys_path; saying so keeps alembic from warning
    config.set_main_option("path_separator", "os")
    return config


def sqlite_foreign_keys_on(connection: Connection) -> bool:
    """Whether foreign keys are on for this SQLite connection (False for other databases).

    Asks the driver's connection, so as not to begin a transaction.
    """
    if connection.dialect.name != "sqlite":
        return False
    dbapi_connection: Any = connection.connection.dbapi_connection
    return bool(dbapi_connection.execute("PRAGMA foreign_keys").fetchone()[0])


@contextlib.contextmanager
def _sqlite_foreign_keys_off(connection: Connection) -> Iterator[None]:
    """Foreign keys off for a migration (see `migration_engine`), back on after it committed.

    SQLite ignores the switch inside a transaction: this must wrap the transaction.
    """
    if not sqlite_foreign_keys_on(connection):
        yield
        return
    dbapi_connection: Any = connection.connection.dbapi_connection
    assert not dbapi_connection.in_transaction, "switching SQLite foreign keys needs no transaction"
    dbapi_connection.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        dbapi_connection.execute("PRAGMA foreign_keys=ON")


def _create_engine(url: str, *, migrating: bool) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(
            parsed, pool_pre_ping=True, **({"poolclass": NullPool} if migrating else {})
        )
    memory = _sqlite_in_memory(parsed)
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if memory:
        kwargs["poolclass"] = StaticPool  # one connection, so one database for everyone
    elif migrating:
        kwargs["poolclass"] = NullPool
    engine = sa.create_engine(parsed, **kwargs)

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        if migrating:
            # the driver's own transaction handling leaves DDL outside transactions
            # (https://docs.sqlalchemy.org/en/20/dialects/sqlite.html#sqlite-transactions):
            # switch it off and emit BEGIN ourselves, below
            dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA busy_timeout=5000")  # first: switching to WAL may wait
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA foreign_keys={'OFF' if migrating else 'ON'}")
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    if migrating:

        @sa.event.listens_for(engine, "begin")
        def _on_begin(connection: Connection) -> None:
            # IMMEDIATE: take the write lock now, so a second upgrade run at the same
            # time waits (busy_timeout) and then finds nothing to do
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _sqlite_in_memory(url: URL) -> bool:
    database = url.database or ""
    return (
        database in ("", ":memory:")
        or url.query.get("mode") == "memory"
        or (database.startswith("file:") and "mode=memory" in database)
    )


def _known(scripts: ScriptDirectory, revision: str) -> bool:
    try:
        return scripts.get_revision(revision) is not None
    except CommandError:
        return False


class DatabaseUnavailable(RuntimeError):
    """The database cannot be reached or opened at all."""


def describe(url: str) -> str:
    """A database URL fit for a message: the password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def open_database(url: str) -> Engine:
    """An engine on an up-to-date database, or an exception whose message says what to do."""
    engine = make_engine(url)
    try:
        check_db(engine)
    except sa.exc.SQLAlchemyError as exc:
        engine.dispose()
        reason = getattr(exc, "orig", None) or exc
        raise DatabaseUnavailable(
            f"cannot open the database at {describe(url)}: {reason}"
        ) from None
    return engine
