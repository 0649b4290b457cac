"""review copies: a file under review is sent for its checkers, kept apart from released ones

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06

Write plain SQLAlchemy types here (not orm's), and check the migration on SQLite and
PostgreSQL: tests/jobserver/test_migrations.py compares the result with the orm package.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("release_files") as batch:
        batch.add_column(sa.Column("review_uploaded_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("review_refused", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("release_files") as batch:
        batch.drop_column("review_refused")
        batch.drop_column("review_uploaded_at")
