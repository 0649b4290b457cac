"""The job server's schema: migrations agree with orm/, on SQLite and PostgreSQL.

`test_*_matches_models` is the test that fails when someone edits orm/ without adding
a migration (or the other way round): generate one with

    from alembic import command
    from jupyter_ext.jobserver.db import alembic_config
    config = alembic_config()
    config.set_main_option("sqlalchemy.url", "sqlite:////tmp/at-head.sqlite")  # upgraded
    command.revision(config, message="...", autogenerate=True, rev_id="0002")

then read and tidy it, as migrations/versions/0001_initial_schema.py was.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from jupyter_ext.jobserver import db, orm


@pytest.fixture
def engines() -> Iterator[list[sa.Engine]]:
    """Engines a test makes, disposed of afterwards (else unclosed connections warn)."""
    made: list[sa.Engine] = []
    yield made
    for engine in made:
        engine.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'jobserver.sqlite'}"


def connect(engines: list[sa.Engine], url: str | sa.URL) -> sa.Engine:
    if isinstance(url, sa.URL):
        url = url.render_as_string(hide_password=False)
    engine = db.make_engine(url)
    engines.append(engine)
    return engine


def schema_diff(engine: sa.Engine, metadata: sa.MetaData = orm.Base.metadata) -> list[Any]:
    """What autogenerate would write to bring the database to `metadata`: [] if they agree.

    compare_type is on (alembic's default): column types are compared too, and
    UTCDateTime compares as the DateTime(timezone=True) it is stored as. No difference is
    ignored: on SQLite and PostgreSQL alike the upgraded database matches exactly.
    """
    with engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), metadata)


def add_events(engine: sa.Engine) -> tuple[list[int], list[int]]:
    """Rows in the two tables whose BigInteger ids are INTEGER on SQLite, given no id."""
    now = dt.datetime.now(dt.UTC)
    with db.make_sessionmaker(engine)() as session:
        events = [orm.Event(kind="job", data={"n": n}) for n in range(2)]
        audits = [
            orm.AuditEvent(actor="system", action="create", target_type="job", target_id=str(n))
            for n in range(2)
        ]
        session.add_all([*events, *audits])
        session.commit()
        # expire_on_commit=False: readable after commit without a query
        assert events[0].created_at.tzinfo is not None
        assert events[0].created_at >= now
        return [e.id for e in events], [a.id for a in audits]


def snapshot(engine: sa.Engine) -> dict[str, Any]:
    """Tables, columns, indexes, keys and rows, to show a second upgrade changed nothing."""
    with engine.connect() as connection:
        inspector = sa.inspect(connection)
        shape: dict[str, Any] = {}
        for table in sorted(inspector.get_table_names()):
            shape[table] = (
                [(c["name"], str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)],
                sorted(str(sorted(i.items())) for i in inspector.get_indexes(table)),
                sorted(str(sorted(k.items())) for k in inspector.get_foreign_keys(table)),
                sorted(str(sorted(u.items())) for u in inspector.get_unique_constraints(table)),
                connection.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar(),
            )
        return shape


# --- SQLite -------------------------------------------------------------------------------


def test_one_linear_history_with_a_readable_head():
    scripts = ScriptDirectory.from_config(db.alembic_config())
    assert scripts.get_heads() == [db.head_revision()]
    assert scripts.get_revision("0001").doc == "initial schema"


def test_sqlite_upgrade_matches_models(sqlite_url, engines):
    db.upgrade_db(sqlite_url)
    engine = connect(engines, sqlite_url)
    assert schema_diff(engine) == []
    assert set(sa.inspect(engine).get_table_names()) == {
        *orm.Base.metadata.tables,
        "alembic_version",
    }


def test_the_comparison_sees_a_model_change(sqlite_url, engines):
    """Guard for the test above: a diff of [] must not be because nothing is compared."""
    db.upgrade_db(sqlite_url)
    engine = connect(engines, sqlite_url)
    changed = sa.MetaData(naming_convention=orm.Base.metadata.naming_convention)
    for table in orm.Base.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["users"].append_column(sa.Column("nickname", sa.String(30)))
    changed.tables["backends"].c.slug.type = sa.String(65)
    changed.tables["jobs"].indexes.remove(
        next(i for i in changed.tables["jobs"].indexes if i.name == "ix_jobs_state_id")
    )
    diff = schema_diff(engine, changed)
    assert {d[0] if isinstance(d, tuple) else d[0][0] for d in diff} == {
        "add_column",
        "modify_type",
        "remove_index",
    }


def test_sqlite_big_integer_ids_number_themselves(sqlite_url, engines):
    db.upgrade_db(sqlite_url)
    engine = connect(engines, sqlite_url)
    assert add_events(engine) == ([1, 2], [1, 2])


def test_upgrading_twice_changes_nothing(sqlite_url, engines):
    db.upgrade_db(sqlite_url)
    engine = connect(engines, sqlite_url)
    add_events(engine)
    before = snapshot(engine)
    db.upgrade_db(sqlite_url)
    assert snapshot(engine) == before
    db.check_db(engine)


def test_check_db_says_to_upgrade_an_empty_database(sqlite_url, engines):
    engine = connect(engines, sqlite_url)
    with pytest.raises(db.DatabaseOutOfDate) as raised:
        db.check_db(engine)
    message = str(raised.value)
    assert f"the database at {sqlite_url} is empty" in message
    assert "run `jupyter ext jobserver --upgrade-db` to create its tables" in message
    db.upgrade_db(sqlite_url)
    db.check_db(engine)


def test_check_db_says_to_upgrade_an_old_database(sqlite_url, engines):
    db.upgrade_db(sqlite_url, revision="0001")  # a database an older jupyter-ext made
    engine = connect(engines, sqlite_url)
    with pytest.raises(db.DatabaseOutOfDate, match=r"is at revision 0001, this jupyter-ext ") as e:
        db.check_db(engine)
    assert str(e.value).endswith(
        f"needs {db.head_revision()}: run `jupyter ext jobserver --upgrade-db` (back it up first)"
    )
    db.upgrade_db(sqlite_url)
    db.check_db(engine)


def test_check_db_on_a_database_from_a_newer_jupyter_ext(sqlite_url, engines):
    db.upgrade_db(sqlite_url)
    engine = connect(engines, sqlite_url)
    with engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(db.DatabaseOutOfDate, match=r"revision 0099, which jupyter-ext .* not know"):
        db.check_db(engine)


def test_check_db_on_tables_not_made_by_the_migrations(sqlite_url, engines):
    engine = connect(engines, sqlite_url)
    orm.Base.metadata.create_all(engine)
    with pytest.raises(db.DatabaseOutOfDate, match="but no alembic revision"):
        db.check_db(engine)


def test_downgrade_to_nothing_and_back(sqlite_url, engines):
    db.upgrade_db(sqlite_url)
    engine = connect(engines, sqlite_url)
    config = db.alembic_config()
    with engine.begin() as connection:  # foreign keys on: env.py refuses (see there why)
        config.attributes["connection"] = connection
        with pytest.raises(RuntimeError, match="SQLite foreign keys are on"):
            command.downgrade(config, "base")
    migrating = db.migration_engine(sqlite_url)
    engines.append(migrating)
    with migrating.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(sa.inspect(engine).get_table_names()) == {"alembic_version"}
    with pytest.raises(db.DatabaseOutOfDate, match="is empty"):
        db.check_db(engine)
    db.upgrade_db(sqlite_url)
    assert schema_diff(engine) == []


def test_a_failed_upgrade_leaves_the_database_as_it_was(sqlite_url, engines, tmp_path, monkeypatch):
    """All migrations run in one transaction, DDL included (not SQLite's default)."""
    migrations = tmp_path / "migrations"
    shutil.copytree(db.MIGRATIONS, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    head = db.head_revision()
    (migrations / "versions" / "9999_broken.py").write_text(
        f'revision = "9999"\ndown_revision = "{head}"\n'
        "def upgrade():\n    raise RuntimeError('broken migration')\n"
    )
    monkeypatch.setattr(db, "MIGRATIONS", migrations)
    with pytest.raises(RuntimeError, match="broken migration"):
        db.upgrade_db(sqlite_url)
    assert sa.inspect(connect(engines, sqlite_url)).get_table_names() == []


def test_in_memory_database_is_shared_and_upgradable(engines):
    engine = connect(engines, "sqlite://")
    db.upgrade_db(engine)
    db.check_db(engine)
    assert schema_diff(engine) == []
    Session = db.make_sessionmaker(engine)
    with Session() as session:
        session.add(orm.User(username="ada"))
        session.commit()
    with Session() as session:
        assert session.scalars(sa.select(orm.User.username)).all() == ["ada"]
    with engine.connect() as connection:  # upgrade_db switched them back on
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_sqlite_pragmas(sqlite_url, engines):
    db.upgrade_db(sqlite_url)
    engine = connect(engines, sqlite_url)
    with engine.connect() as connection:
        pragma = lambda name: connection.exec_driver_sql(f"PRAGMA {name}").scalar()  # noqa: E731
        assert pragma("journal_mode") == "wal"
        assert pragma("foreign_keys") == 1
        assert pragma("synchronous") == 1  # NORMAL
        assert pragma("busy_timeout") == 5000
    with db.make_sessionmaker(engine)() as session:
        session.add(orm.ApiToken(user_id=42, name="t", prefix="p", hash="h"))
        with pytest.raises(sa.exc.IntegrityError, match="FOREIGN KEY"):
            session.commit()


# --- PostgreSQL ---------------------------------------------------------------------------


def test_postgres_upgrade_matches_models(postgres_url, engines):
    url = sa.make_url(postgres_url) if isinstance(postgres_url, str) else postgres_url
    if url.password is None:
        # the server trusts this user (or the URL would carry a password): add one, so the
        # test can show that check_db's message leaves it out
        url = url.set(password="not-to-be-shown")
    engine = connect(engines, url)
    with pytest.raises(db.DatabaseOutOfDate, match="is empty") as raised:
        db.check_db(engine)
    assert url.password not in str(raised.value)
    assert url.render_as_string(hide_password=True) in str(raised.value)

    db.upgrade_db(url.render_as_string(hide_password=False))
    db.check_db(engine)
    assert schema_diff(engine) == []
    with engine.connect() as connection:
        columns = {c["name"]: c for c in sa.inspect(connection).get_columns("jobs")}
    column = columns["completed_at"]
    assert isinstance(column["type"], sa.DateTime) and column["type"].timezone
    assert add_events(engine) == ([1, 2], [1, 2])

    before = snapshot(engine)
    db.upgrade_db(url.render_as_string(hide_password=False))
    assert snapshot(engine) == before
