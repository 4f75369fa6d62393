"""digest sources, items, papers, subscriptions, issues, deliveries

Revision ID: 0005_digest
Revises: 0001_core
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0005_digest"
down_revision = "0001_core"
branch_labels = ("digest",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_sources",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("locator", sa.String(512), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("last_fetch_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_ok_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("items_total", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_sources")),
        sa.UniqueConstraint("kind", "locator", name="uq_digest_sources_kind_locator"),
    )
    op.create_table(
        "digest_papers",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(512), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_papers")),
        sa.UniqueConstraint("key", name=op.f("uq_digest_papers_key")),
    )
    op.create_table(
        "digest_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.String(512), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["source_id"], ["digest_sources.id"],
                                name=op.f("fk_digest_items_source_id_digest_sources"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["paper_id"], ["digest_papers.id"],
                                name=op.f("fk_digest_items_paper_id_digest_papers"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_items")),
        sa.UniqueConstraint("source_id", "external_id", name="uq_digest_items_source_external"),
    )
    op.create_table(
        "digest_subscriptions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("topics", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("schedule", sa.String(8), nullable=False),
        sa.Column("time", sa.String(5), nullable=False),
        sa.Column("weekday", sa.SmallInteger(), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("empty_policy", sa.String(8), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], name=op.f("fk_digest_subscriptions_chat_id_chats"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_subscriptions")),
    )
    op.create_table(
        "digest_issues",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(32), nullable=False),
        sa.Column("papers", sa.JSON(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["subscription_id"], ["digest_subscriptions.id"],
                                name=op.f("fk_digest_issues_subscription_id_digest_subscriptions"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_issues")),
        sa.UniqueConstraint("subscription_id", "period", name="uq_digest_issues_subscription_period"),
    )
    op.create_table(
        "digest_deliveries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("message_ids", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("extra", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["issue_id"], ["digest_issues.id"],
                                name=op.f("fk_digest_deliveries_issue_id_digest_issues"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_deliveries")),
        sa.UniqueConstraint("issue_id", "chat_id", name="uq_digest_deliveries_issue_chat"),
    )
    # The broadcaster looks for pending/sending rows; issues look for items by paper and by date.
    op.create_index("ix_digest_deliveries_state", "digest_deliveries", ["state", "issue_id"])
    op.create_index("ix_digest_items_published", "digest_items", ["published_at"])
    op.create_index("ix_digest_items_paper", "digest_items", ["paper_id"])


def downgrade() -> None:
    for table in ("digest_deliveries", "digest_issues", "digest_subscriptions", "digest_items", "digest_papers",
                  "digest_sources"):
        op.drop_table(table)
