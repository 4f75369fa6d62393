"""groups: digest topic per subscription, digest votes

Revision ID: 0007_groups
Revises: 0005_digest
Create Date: 2026-11-27
"""
import sqlalchemy as sa
from alembic import op

revision = "0007_groups"
# It alters digest_subscriptions and points at digest tables, so it continues the digest branch (a depends_on
# from 0001_core would leave 0005_digest a script head that the database never records).
down_revision = "0005_digest"
branch_labels = ("groups",)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("digest_subscriptions") as batch:
        batch.add_column(sa.Column("thread_id", sa.BigInteger(), nullable=True))
    op.create_table(
        "digest_votes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("issue_id", sa.Integer(), nullable=False),
        sa.Column("paper_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("value", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["issue_id"], ["digest_issues.id"],
                                name=op.f("fk_digest_votes_issue_id_digest_issues"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["paper_id"], ["digest_papers.id"],
                                name=op.f("fk_digest_votes_paper_id_digest_papers"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_digest_votes_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_votes")),
        sa.UniqueConstraint("issue_id", "paper_id", "user_id", name="uq_digest_votes_issue_paper_user"),
    )
    op.create_index("ix_digest_votes_paper", "digest_votes", ["paper_id"])


def downgrade() -> None:
    op.drop_index("ix_digest_votes_paper", table_name="digest_votes")
    op.drop_table("digest_votes")
    with op.batch_alter_table("digest_subscriptions") as batch:
        batch.drop_column("thread_id")
