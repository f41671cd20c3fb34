"""Where a file's capture time comes from: "camera" (EXIF, a video's creation time) or
"name" (a date in the file name, IMG_20190704_...); none: unknown (the file's time is
used).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.add_column(sa.Column("taken_from", sa.String(8), nullable=True))
    op.execute("UPDATE files SET taken_from = 'camera' WHERE taken_ns IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table("files") as batch:
        batch.drop_column("taken_from")
