"""jobs by update: jobs.update_id (a job run inside its update is looked up when that update runs again)

Revision ID: 0011_job_update_index
Revises: 0006_inbox
Create Date: 2026-12-05
"""
from alembic import op

revision = "0011_job_update_index"
# It indexes the inbox's jobs table, so it continues the inbox chain after its head (0006_inbox), with a label.
down_revision = "0006_inbox"
branch_labels = ("inbox_jobs",)
depends_on = None


def upgrade() -> None:
    op.create_index("ix_jobs_update", "jobs", ["update_id"])


def downgrade() -> None:
    op.drop_index("ix_jobs_update", table_name="jobs")
