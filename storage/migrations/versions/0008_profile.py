"""profile: a chat's reading list, paper embeddings, ranking reasons per issue; subscription mode and window

Revision ID: 0008_profile
Revises: 0007_groups
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0008_profile"
# It alters digest_subscriptions and points at digest tables, so it continues the digest branch (after 0007_groups,
# the head of that chain), with a label of its own.
down_revision = "0007_groups"
branch_labels = ("profile",)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("digest_subscriptions") as batch:
        # `both` for existing subscriptions too: with no votes it ranks exactly as before (topics).
        batch.add_column(sa.Column("mode", sa.String(8), nullable=False, server_default="both"))
        batch.add_column(sa.Column("covered_until", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "digest_reading_list",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("arxiv_id", sa.String(32), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=True),
        sa.Column("origin", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], name=op.f("fk_digest_reading_list_chat_id_chats"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["paper_id"], ["digest_papers.id"],
                                name=op.f("fk_digest_reading_list_paper_id_digest_papers"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_reading_list")),
        sa.UniqueConstraint("chat_id", "arxiv_id", name="uq_digest_reading_list_chat_arxiv"),
    )
    op.create_table(
        "digest_paper_embeddings",
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(64), nullable=False),
        sa.Column("text_hash", sa.String(40), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["paper_id"], ["digest_papers.id"],
                                name=op.f("fk_digest_paper_embeddings_paper_id_digest_papers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("paper_id", "model", name=op.f("pk_digest_paper_embeddings")),
    )
    op.create_table(
        "digest_rankings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["issue_id"], ["digest_issues.id"],
                                name=op.f("fk_digest_rankings_issue_id_digest_issues"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["paper_id"], ["digest_papers.id"],
                                name=op.f("fk_digest_rankings_paper_id_digest_papers"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_rankings")),
        sa.UniqueConstraint("issue_id", "paper_id", name="uq_digest_rankings_issue_paper"),
    )


def downgrade() -> None:
    op.drop_table("digest_rankings")
    op.drop_table("digest_paper_embeddings")
    op.drop_table("digest_reading_list")
    with op.batch_alter_table("digest_subscriptions") as batch:
        batch.drop_column("covered_until")
        batch.drop_column("mode")
