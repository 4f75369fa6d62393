"""leak results

Revision ID: 0002_leak
Revises: 0001_core
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0002_leak"
down_revision = "0001_core"
branch_labels = ("leak",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "leak_results",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("probe_id", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("concept", sa.Text(), nullable=False),
        sa.Column("control", sa.Text(), nullable=False),
        sa.Column("test", sa.Text(), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("temperatures", sa.JSON(), nullable=False),
        sa.Column("leak_rate", sa.Float(), nullable=False),
        sa.Column("ci_low", sa.Float(), nullable=False),
        sa.Column("ci_high", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("samples", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_leak_results_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], name=op.f("fk_leak_results_chat_id_chats"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leak_results")),
    )
    op.create_index("ix_leak_results_model_created", "leak_results", ["model", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_leak_results_model_created", table_name="leak_results")
    op.drop_table("leak_results")
