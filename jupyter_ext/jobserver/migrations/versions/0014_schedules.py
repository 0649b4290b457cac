"""schedules, their firings, and the job requests a firing made

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07

Write plain SQLAlchemy types here (not orm's), and check the migration on SQLite and
PostgreSQL: tests/jobserver/test_migrations.py compares the result with the orm package.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "schedules",
        sa.Column("id", sa.String(length=26), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("actions", sa.JSON(), nullable=False),
        sa.Column("backends", sa.JSON(), nullable=False),
        sa.Column("force_run_dependencies", sa.Boolean(), nullable=False),
        sa.Column("notify", sa.Boolean(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("cron", sa.String(length=200), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("catch_up", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("next_due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_fired_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_schedules_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_schedules_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedules")),
    )
    op.create_index(op.f("ix_schedules_created_by_id"), "schedules", ["created_by_id"])
    op.create_index(op.f("ix_schedules_workspace_id"), "schedules", ["workspace_id"])
    op.create_index("ix_schedules_state_next_due_at", "schedules", ["state", "next_due_at"])
    op.create_table(
        "schedule_firings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("schedule_id", sa.String(length=26), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("missed", sa.Integer(), nullable=False),
        sa.Column("job_request_id", sa.String(length=26), nullable=True),
        sa.Column("study_run_id", sa.String(length=26), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(
            ["job_request_id"],
            ["job_requests.id"],
            name=op.f("fk_schedule_firings_job_request_id_job_requests"),
        ),
        sa.ForeignKeyConstraint(
            ["schedule_id"],
            ["schedules.id"],
            name=op.f("fk_schedule_firings_schedule_id_schedules"),
        ),
        sa.ForeignKeyConstraint(
            ["study_run_id"],
            ["study_runs.id"],
            name=op.f("fk_schedule_firings_study_run_id_study_runs"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_schedule_firings")),
    )
    op.create_index("ix_schedule_firings_schedule_id_id", "schedule_firings", ["schedule_id", "id"])
    with op.batch_alter_table("job_requests") as batch:
        batch.add_column(sa.Column("schedule_id", sa.String(length=26), nullable=True))
        batch.create_foreign_key(
            op.f("fk_job_requests_schedule_id_schedules"), "schedules", ["schedule_id"], ["id"]
        )
        batch.create_index(op.f("ix_job_requests_schedule_id"), ["schedule_id"])


def downgrade() -> None:
    with op.batch_alter_table("job_requests") as batch:
        batch.drop_index(op.f("ix_job_requests_schedule_id"))
        batch.drop_constraint(op.f("fk_job_requests_schedule_id_schedules"), type_="foreignkey")
        batch.drop_column("schedule_id")
    op.drop_index("ix_schedule_firings_schedule_id_id", table_name="schedule_firings")
    op.drop_table("schedule_firings")
    op.drop_index("ix_schedules_state_next_due_at", table_name="schedules")
    op.drop_index(op.f("ix_schedules_workspace_id"), table_name="schedules")
    op.drop_index(op.f("ix_schedules_created_by_id"), table_name="schedules")
    op.drop_table("schedules")
