"""file versions, comments, pre-release rules and provenance

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25

Write plain SQLAlchemy types here (not orm's), and check the migration on SQLite and
PostgreSQL: tests/jobserver/test_migrations.py compares the result with the orm package.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("backends") as batch:
        batch.add_column(sa.Column("release_rules", sa.JSON(), nullable=True))
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("provenance", sa.JSON(), nullable=True))
    with op.batch_alter_table("job_outputs") as batch:
        batch.add_column(sa.Column("check", sa.JSON(), nullable=True))
    with op.batch_alter_table("release_files") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("replaces_id", sa.String(length=26), nullable=True))
        batch.add_column(sa.Column("check", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("upload_refused", sa.Text(), nullable=True))
    with op.batch_alter_table("release_files") as batch:
        batch.alter_column("version", server_default=None)
    with op.batch_alter_table("reviews") as batch:
        batch.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "release_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("release_file_id", sa.String(length=26), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["release_file_id"],
            ["release_files.id"],
            name=op.f("fk_release_comments_release_file_id_release_files"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_release_comments_author_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_comments")),
    )
    op.create_index(
        op.f("ix_release_comments_release_file_id"), "release_comments", ["release_file_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_release_comments_release_file_id"), table_name="release_comments")
    op.drop_table("release_comments")
    with op.batch_alter_table("reviews") as batch:
        batch.drop_column("updated_at")
    with op.batch_alter_table("release_files") as batch:
        for column in ("upload_refused", "check", "replaces_id", "version"):
            batch.drop_column(column)
    with op.batch_alter_table("job_outputs") as batch:
        batch.drop_column("check")
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("provenance")
    with op.batch_alter_table("backends") as batch:
        batch.drop_column("release_rules")
