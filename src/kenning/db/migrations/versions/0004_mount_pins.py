"""Mounts are pinned to their folder's device and inode, so a folder replaced by another
(or by a link to one) is refused instead of scanned and served.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("mounts") as batch:
        batch.add_column(sa.Column("device", sa.BigInteger, nullable=True))
        batch.add_column(sa.Column("inode", sa.BigInteger, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mounts") as batch:
        batch.drop_column("inode")
        batch.drop_column("device")
