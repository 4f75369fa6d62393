"""jobs.thread_id: the forum topic a job was asked in, so the "interrupted" notice goes to that topic, not General

Revision ID: 0012_job_thread
Revises: 0011_job_update_index
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0012_job_thread"
down_revision = "0011_job_update_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: rows written before it (and jobs outside a topic) have none; the notice goes to the chat.
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("thread_id", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_column("thread_id")
