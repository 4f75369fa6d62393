"""durable inbox, polling cursor, jobs

Revision ID: 0006_inbox
Revises: 0001_core
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0006_inbox"
down_revision = "0001_core"
branch_labels = ("inbox",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox_updates",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(96), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(128), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("update_id", name=op.f("pk_inbox_updates")),
    )
    op.create_index("ix_inbox_updates_status_update", "inbox_updates", ["status", "update_id"])
    op.create_index("ix_inbox_updates_finished", "inbox_updates", ["finished_at"])
    op.create_table(
        "inbox_cursors",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_inbox_cursors")),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("command", sa.String(32), nullable=True),
        sa.Column("update_id", sa.BigInteger(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("owner", sa.String(96), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notified", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_jobs")),
    )
    op.create_index("ix_jobs_status_heartbeat", "jobs", ["status", "heartbeat_at"])
    op.create_table(
        "inbox_calls",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("update_id", "seq", name=op.f("pk_inbox_calls")),
    )
    op.create_index("ix_inbox_calls_created", "inbox_calls", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_inbox_calls_created", table_name="inbox_calls")
    op.drop_table("inbox_calls")
    op.drop_index("ix_jobs_status_heartbeat", table_name="jobs")
    op.drop_table("jobs")
    op.drop_table("inbox_cursors")
    op.drop_index("ix_inbox_updates_finished", table_name="inbox_updates")
    op.drop_index("ix_inbox_updates_status_update", table_name="inbox_updates")
    op.drop_table("inbox_updates")
