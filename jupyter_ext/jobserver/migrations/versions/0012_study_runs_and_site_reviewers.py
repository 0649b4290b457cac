"""study runs across backends, and the people a site names to check what leaves it

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

Write plain SQLAlchemy types here (not orm's), and check the migration on SQLite and
PostgreSQL: tests/jobserver/test_migrations.py compares the result with the orm package.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "study_runs",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("sha", sa.String(length=40), nullable=False),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("force_run_dependencies", sa.Boolean(), nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_study_runs_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_study_runs_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_runs")),
        sa.UniqueConstraint(
            "created_by_id", "idempotency_key", name=op.f("uq_study_runs_created_by_id")
        ),
    )
    op.create_index(op.f("ix_study_runs_created_by_id"), "study_runs", ["created_by_id"])
    op.create_index(op.f("ix_study_runs_workspace_id"), "study_runs", ["workspace_id"])
    with op.batch_alter_table("job_requests") as batch:
        batch.add_column(sa.Column("study_run_id", sa.String(length=26), nullable=True))
        batch.create_foreign_key(
            op.f("fk_job_requests_study_run_id_study_runs"), "study_runs", ["study_run_id"], ["id"]
        )
        batch.create_index(op.f("ix_job_requests_study_run_id"), ["study_run_id"])
    op.create_table(
        "backend_members",
        sa.Column("backend_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("roles", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["backend_id"],
            ["backends.id"],
            name=op.f("fk_backend_members_backend_id_backends"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_backend_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("backend_id", "user_id", name=op.f("pk_backend_members")),
    )
    op.create_index(op.f("ix_backend_members_user_id"), "backend_members", ["user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_backend_members_user_id"), table_name="backend_members")
    op.drop_table("backend_members")
    with op.batch_alter_table("job_requests") as batch:
        batch.drop_index(op.f("ix_job_requests_study_run_id"))
        batch.drop_constraint(op.f("fk_job_requests_study_run_id_study_runs"), type_="foreignkey")
        batch.drop_column("study_run_id")
    op.drop_index(op.f("ix_study_runs_workspace_id"), table_name="study_runs")
    op.drop_index(op.f("ix_study_runs_created_by_id"), table_name="study_runs")
    op.drop_table("study_runs")
