"""Browsing: the timeline reads files newest first by capture time (the time the photo
was taken, else its modification time) from an index, and a person may have a cover face
chosen by the user.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE INDEX IF NOT EXISTS ix_files_timeline ON files "
               "(mount_id, coalesce(taken_ns, mtime_ns), id)")
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("cover_face_id", sa.Integer, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_column("cover_face_id")
    op.execute("DROP INDEX IF EXISTS ix_files_timeline")
