"""release file differencing: the released tables a file under review overlaps, and findings

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-08

Write plain SQLAlchemy types here (not orm's), and check the migration on SQLite and
PostgreSQL: tests/jobserver/test_migrations.py compares the result with the orm package.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("release_files") as batch:
        batch.add_column(sa.Column("differencing", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("release_files") as batch:
        batch.drop_column("differencing")
