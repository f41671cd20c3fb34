"""Paths of any length on PostgreSQL: a btree entry holds at most ~2.7 KB, so the unique
(mount, path) index keys on the path's sha256 instead of the path itself. (SQLite has
no such limit and keeps its constraint.)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for constraint in sa.inspect(bind).get_unique_constraints("files"):
        if constraint["column_names"] == ["mount_id", "rel_path_raw"]:
            op.drop_constraint(constraint["name"], "files", type_="unique")
    op.execute("CREATE UNIQUE INDEX uq_files_mount_path_digest ON files "
               "(mount_id, sha256(rel_path_raw))")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("uq_files_mount_path_digest", "files")
    op.create_unique_constraint(None, "files", ["mount_id", "rel_path_raw"])
