"""upload leases: one upload of a released file at once, across job server processes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06

Write plain SQLAlchemy types here (not orm's), and check the migration on SQLite and
PostgreSQL: tests/jobserver/test_migrations.py compares the result with the orm package.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "upload_leases",
        sa.Column("file_id", sa.String(length=26), nullable=False),
        sa.Column("holder", sa.String(length=32), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["release_files.id"],
            name=op.f("fk_upload_leases_file_id_release_files"),
        ),
        sa.PrimaryKeyConstraint("file_id", name=op.f("pk_upload_leases")),
    )


def downgrade() -> None:
    op.drop_table("upload_leases")
