"""The PostgreSQL part: a real server, a fresh database per test."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

SEEN: list[str] = []


@pytest.mark.parametrize("run", [1, 2])
def test_postgres_url_is_a_fresh_database(postgres_url: str, run: int) -> None:
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:  # CREATE TABLE would fail in a database used before
            conn.execute(sa.text("CREATE TABLE t (id int PRIMARY KEY, name text)"))
            conn.execute(sa.text("INSERT INTO t VALUES (:id, 'row')"), {"id": run})
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT id, name FROM t")).all() == [(run, "row")]
            database = conn.execute(sa.text("SELECT current_database()")).scalar_one()
    finally:
        engine.dispose()
    assert postgres_url.endswith(f"/{database}")
    assert postgres_url not in SEEN  # the two runs get two different databases
    SEEN.append(postgres_url)
