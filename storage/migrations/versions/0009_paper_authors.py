"""paper authors: digest_papers.authors (arXiv's author names, for the paper card)

Revision ID: 0009_paper_authors
Revises: 0008_profile
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = "0009_paper_authors"
# It alters digest_papers, so it continues the digest chain after its head (0008_profile), with a label of its own.
down_revision = "0008_profile"
branch_labels = ("paper_cards",)
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("digest_papers") as batch:
        batch.add_column(sa.Column("authors", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("digest_papers") as batch:
        batch.drop_column("authors")
