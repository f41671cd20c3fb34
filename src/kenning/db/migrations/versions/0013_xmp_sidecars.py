"""XMP sidecars: what was exported for each file (digest, where) and what its sidecars
or embedded XMP gave when imported (signature, counts, conflicts, or why it failed).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "xmp_files",
        sa.Column("file_id", sa.Integer, sa.ForeignKey("files.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("export_digest", sa.String(64), nullable=True),
        sa.Column("export_path", sa.Text, nullable=True),
        sa.Column("exported_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("import_signature", sa.Text, nullable=True),
        sa.Column("import_report", sa.Text, nullable=True),
        sa.Column("import_error", sa.Text, nullable=True),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("xmp_files")
