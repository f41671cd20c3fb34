"""Who said a face is or is not a face: "user" (then it is final) or "auto" (set aside by
kenning.faces.nonhuman, which the user can undo); none while nobody has said either.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("faces") as batch:
        batch.add_column(sa.Column("not_face_by", sa.String(8), nullable=True))
    op.execute("UPDATE faces SET not_face_by = 'user' WHERE not_face")


def downgrade() -> None:
    with op.batch_alter_table("faces") as batch:
        batch.drop_column("not_face_by")
