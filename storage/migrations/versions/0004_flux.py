"""flux generations and votes

Revision ID: 0004_flux
Revises: 0001_core
Create Date: 2026-11-24
"""
import sqlalchemy as sa
from alembic import op

revision = "0004_flux"
down_revision = "0001_core"
branch_labels = ("flux",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "flux_generations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("suite", sa.String(32), nullable=True),
        sa.Column("label", sa.String(128), nullable=True),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("file_id", sa.String(256), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("ocr_text", sa.Text(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_flux_generations_user_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], name=op.f("fk_flux_generations_chat_id_chats"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flux_generations")),
    )
    op.create_index("ix_flux_generations_user_created", "flux_generations", ["user_id", "created_at"])
    op.create_index("ix_flux_generations_chat_created", "flux_generations", ["chat_id", "created_at"])
    op.create_table(
        "flux_votes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("generation_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.SmallInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["generation_id"], ["flux_generations.id"],
                                name=op.f("fk_flux_votes_generation_id_flux_generations"), ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_flux_votes_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_flux_votes")),
        sa.UniqueConstraint("generation_id", "user_id", name="uq_flux_votes_generation_user"),
    )


def downgrade() -> None:
    op.drop_table("flux_votes")
    op.drop_index("ix_flux_generations_chat_created", table_name="flux_generations")
    op.drop_index("ix_flux_generations_user_created", table_name="flux_generations")
    op.drop_table("flux_generations")
