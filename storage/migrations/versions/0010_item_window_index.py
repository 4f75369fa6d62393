"""digest item window index: digest_items.created_at (the issue window selects items stored since the last issue)

Revision ID: 0010_item_window_index
Revises: 0009_paper_authors
Create Date: 2026-12-03
"""
from alembic import op

revision = "0010_item_window_index"
# It indexes digest_items, so it continues the digest chain after its head (0009_paper_authors), with a label.
down_revision = "0009_paper_authors"
branch_labels = ("digest_window",)
depends_on = None


def upgrade() -> None:
    op.create_index("ix_digest_items_created", "digest_items", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_digest_items_created", table_name="digest_items")
