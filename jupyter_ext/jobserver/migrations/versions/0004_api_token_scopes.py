"""api token scopes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25

Write plain SQLAlchemy types here (not orm's), and check the migration on SQLite and
PostgreSQL: tests/jobserver/test_migrations.py compares the result with the orm package.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        # tokens made before scopes could do everything: they keep doing so
        batch_op.add_column(
            sa.Column("scope", sa.String(length=8), nullable=False, server_default="write")
        )


def downgrade() -> None:
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_column("scope")
