"""a notebook action's parameters: a request's overrides, and the values each job runs with

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07

Write plain SQLAlchemy types here (not orm's), and check the migration on SQLite and
PostgreSQL: tests/jobserver/test_migrations.py compares the result with the orm package.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("job_requests", "jobs"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(
                sa.Column("parameters", sa.JSON(), nullable=False, server_default="{}")
            )


def downgrade() -> None:
    for table in ("jobs", "job_requests"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("parameters")
