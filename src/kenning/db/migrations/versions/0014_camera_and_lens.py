"""The camera and lens that took a photo, from its EXIF (places classifier; its new
model version reads them for every photo again).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("camera", sa.String(100), nullable=True))
        batch.add_column(sa.Column("lens", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.drop_column("lens")
        batch.drop_column("camera")
