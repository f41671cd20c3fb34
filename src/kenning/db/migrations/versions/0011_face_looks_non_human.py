"""How much a face's own crop looks non-human to the objects model (kenning.faces.nonhuman):
an animal or a made face, and a made face alone (a cartoon, a mask, a carved pumpkin), for
the faces the detector is not sure of; none where it was not looked at (faces found
before, sure faces, faces too small to judge).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("faces") as batch:
        batch.add_column(sa.Column("non_human", sa.Float, nullable=True))
        batch.add_column(sa.Column("made_face", sa.Float, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("faces") as batch:
        batch.drop_column("made_face")
        batch.drop_column("non_human")
