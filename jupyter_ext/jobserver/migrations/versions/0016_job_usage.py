"""job usage: CPU seconds, wall seconds, peak memory and bytes written of each job

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07

Columns rather than JSON, so that the usage report's sums are one GROUP BY in SQL; all
nullable (jobs before this, and figures an executor cannot know). Write plain SQLAlchemy
types here (not orm's), and check the migration on SQLite and PostgreSQL:
tests/jobserver/test_migrations.py compares the result with the orm package.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("cpu_seconds", sa.Float(), nullable=True))
        batch.add_column(sa.Column("wall_seconds", sa.Float(), nullable=True))
        batch.add_column(sa.Column("peak_memory_bytes", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("bytes_written", sa.BigInteger(), nullable=True))
    op.create_index("ix_jobs_completed_at", "jobs", ["completed_at"])  # the report's range


def downgrade() -> None:
    op.drop_index("ix_jobs_completed_at", table_name="jobs")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("bytes_written")
        batch.drop_column("peak_memory_bytes")
        batch.drop_column("wall_seconds")
        batch.drop_column("cpu_seconds")
