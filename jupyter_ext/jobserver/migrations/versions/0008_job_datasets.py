"""the datasets each job reads, from the repository's datasets.yaml

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25

Write plain SQLAlchemy types here (not orm's), and check the migration on SQLite and
PostgreSQL: tests/jobserver/test_migrations.py compares the result with the orm package.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("datasets", sa.JSON(), nullable=False, server_default="[]"))
    with op.batch_alter_table("jobs") as batch:
        batch.alter_column("datasets", server_default=None)


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("datasets")
