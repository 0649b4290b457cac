"""resources per action: what each job asked for, and what each backend allows

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07

`jobs.resources`: the CPUs, memory and time limit the action asked for in resources.yaml (null:
the backend's defaults). `backends.resource_limits`: the defaults and maximums its runner last
reported. Write plain SQLAlchemy types here (not orm's), and check the migration on SQLite and
PostgreSQL: tests/jobserver/test_migrations.py compares the result with the orm package.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("resources", sa.JSON(), nullable=True))
    with op.batch_alter_table("backends") as batch:
        batch.add_column(sa.Column("resource_limits", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("backends") as batch:
        batch.drop_column("resource_limits")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("resources")
