"""event log indexes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25

Write plain SQLAlchemy types here (not orm's), and check the migration on SQLite and
PostgreSQL: tests/jobserver/test_migrations.py compares the result with the orm package.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.create_index("ix_jobs_backend_id_id", ["backend_id", "id"], unique=False)
        batch_op.create_index("ix_jobs_workspace_id_id", ["workspace_id", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_index("ix_jobs_workspace_id_id")
        batch_op.drop_index("ix_jobs_backend_id_id")
