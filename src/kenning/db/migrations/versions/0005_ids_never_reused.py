"""Ids that are never given twice: SQLite reuses the highest id after its row is deleted
(a removed user's id going to the next new user, whose clients and caches would then
stand for the old one) unless the table is AUTOINCREMENT. PostgreSQL's sequences never
reuse ids, so only SQLite's tables are rebuilt (kenning.db.migrate turns foreign keys
off while a table is rebuilt, so nothing that refers to it is touched).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("users", "mounts", "people", "app_tokens")


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always",
                                  table_kwargs={"sqlite_autoincrement": True}):
            pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(table, recreate="always"):
            pass
