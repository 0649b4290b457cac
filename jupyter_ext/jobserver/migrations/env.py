"""Alembic environment for the job server's database.

Run through `jupyter_ext.jobserver.db.upgrade_db` (`jupyter ext jobserver --upgrade-db`),
which passes an open connection in `config.attributes["connection"]`. The `alembic`
command line also works, given a config with `script_location` pointing here and
`sqlalchemy.url` (as `db.alembic_config()` plus that option).
"""

from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection, make_url

from jupyter_ext.jobserver.db import migration_engine, sqlite_foreign_keys_on
from jupyter_ext.jobserver.orm import Base, UTCDateTime

config = context.config
if config.config_file_name is not None:
    from logging.config import fileConfig

    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata

# a fixed key for PostgreSQL's advisory lock: two upgrades at once run one after the other
PG_LOCK_KEY = 0x6A75_7079_6578  # "jupyex"


def render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Write orm types as plain SQLAlchemy ones, so migrations do not import orm.

    A migration must keep working after the models change; UTCDateTime only converts
    values in Python, its column is a timezone-aware DateTime.
    """
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def configure_options(dialect_name: str) -> dict[str, Any]:
    return {
        "target_metadata": target_metadata,
        # SQLite alters most things by copying the table: batch mode does that
        "render_as_batch": dialect_name == "sqlite",
        "compare_type": True,
        "render_item": render_item,
    }


def run_migrations_offline() -> None:
    """Write the SQL (`alembic upgrade --sql`) instead of running it."""
    url = config.get_main_option("sqlalchemy.url")
    assert url, "set sqlalchemy.url to generate SQL"
    dialect = make_url(url).get_backend_name()
    context.configure(url=url, literal_binds=True, **configure_options(dialect))
    with context.begin_transaction():
        context.run_migrations()


def run_with(connection: Connection) -> None:
    dialect = connection.dialect.name
    sqlite = dialect == "sqlite"
    if sqlite_foreign_keys_on(connection):
        # SQLite alters a table by copying it and dropping the original: with foreign keys
        # on, the drop would cascade deletes into the tables that point at it
        raise RuntimeError(
            "SQLite foreign keys are on (and cannot be switched off inside a transaction): "
            "run migrations with jupyter_ext.jobserver.db.upgrade_db, or a connection "
            "from db.migration_engine"
        )
    context.configure(connection=connection, **configure_options(dialect))
    with context.begin_transaction():
        if dialect == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
        context.run_migrations()
        if sqlite:
            # keys were off: check them before committing (an error rolls back)
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(
                    f"the migrations broke foreign keys (table, rowid, parent, fk): {broken}"
                )


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    assert url, "pass a connection in config.attributes['connection'] or set sqlalchemy.url"
    engine = migration_engine(url)
    try:
        with engine.begin() as connection:
            run_with(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
