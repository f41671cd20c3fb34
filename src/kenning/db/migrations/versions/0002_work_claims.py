"""Work claims (which worker holds pending work, and its heartbeat) and model versions
up to 200 characters (a video's version names three models).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

VERSIONED = ("work_items", "file_tags", "file_labels", "faces")


def upgrade() -> None:
    with op.batch_alter_table("work_items") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(120), nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
    for table in VERSIONED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("model_version", existing_type=sa.String(80),
                               type_=sa.String(200))


def downgrade() -> None:
    for table in VERSIONED:
        with op.batch_alter_table(table) as batch:
            batch.alter_column("model_version", existing_type=sa.String(200),
                               type_=sa.String(80))
    with op.batch_alter_table("work_items") as batch:
        batch.drop_column("claimed_at")
        batch.drop_column("claimed_by")
