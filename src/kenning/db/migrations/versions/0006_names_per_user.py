"""Names matched by their Unicode case fold, and tags a user types kept to that user.

tags gain owner_id (0: the classifiers' shared vocabulary) and key (the folded name),
unique together instead of the name alone; tags that fold to the same key are merged.
people gain name_key, file_places search_key (city, region and country folded).
Existing tags stay shared: who typed them was never recorded.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from kenning.names import fold

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":  # the old unique constraint has no name: give it one
        with op.batch_alter_table("tags", recreate="always", naming_convention={
                "uq": "uq_%(table_name)s_%(column_0_name)s"}) as batch:
            batch.add_column(sa.Column("owner_id", sa.Integer, nullable=False,
                                       server_default="0"))
            batch.add_column(sa.Column("key", sa.String(200), nullable=True))
            batch.drop_constraint("uq_tags_name", type_="unique")
    else:
        op.add_column("tags", sa.Column("owner_id", sa.Integer, nullable=False,
                                        server_default="0"))
        op.add_column("tags", sa.Column("key", sa.String(200), nullable=True))
        for constraint in sa.inspect(bind).get_unique_constraints("tags"):
            if constraint["column_names"] == ["name"]:
                op.drop_constraint(constraint["name"], "tags", type_="unique")
    keep: dict[str, int] = {}
    for tag_id, name in bind.execute(sa.text("SELECT id, name FROM tags ORDER BY id")).all():
        key = fold(name)
        if key not in keep:
            keep[key] = tag_id
            bind.execute(sa.text("UPDATE tags SET key = :k WHERE id = :i"), {"k": key, "i": tag_id})
            continue
        _merge_tag(bind, tag_id, keep[key])
    with op.batch_alter_table("tags") as batch:
        batch.alter_column("key", existing_type=sa.String(200), nullable=False)
        batch.create_unique_constraint("uq_tags_owner_key", ["owner_id", "key"])
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("name_key", sa.String(400), nullable=True))
    for person_id, name in bind.execute(sa.text(
            "SELECT id, name FROM people WHERE name IS NOT NULL")).all():
        bind.execute(sa.text("UPDATE people SET name_key = :k WHERE id = :i"),
                     {"k": fold(name), "i": person_id})
    op.create_index("ix_people_user_name_key", "people", ["user_id", "name_key"])
    with op.batch_alter_table("file_places") as batch:
        batch.add_column(sa.Column("search_key", sa.Text, nullable=True))
    for file_id, city, region, country in bind.execute(sa.text(
            "SELECT file_id, city, region, country FROM file_places")).all():
        bind.execute(sa.text("UPDATE file_places SET search_key = :k WHERE file_id = :i"),
                     {"k": place_key(city, region, country), "i": file_id})


def place_key(*parts) -> str:
    return "\n".join(fold(p) for p in parts if p)


def _merge_tag(bind, old: int, into: int) -> None:
    """Tag `old` folds like `into`: its rows move there (duplicates dropped)."""
    for table, key in (("file_tags", "file_id, source"), ("tag_rejections", "file_id")):
        columns = key.split(", ")
        same = " AND ".join(f"t2.{c} = {table}.{c}" for c in columns)
        bind.execute(sa.text(f"DELETE FROM {table} WHERE tag_id = :old AND EXISTS (SELECT 1 "
                             f"FROM {table} AS t2 WHERE t2.tag_id = :into AND {same})"),
                     {"old": old, "into": into})
        bind.execute(sa.text(f"UPDATE {table} SET tag_id = :into WHERE tag_id = :old"),
                     {"old": old, "into": into})
    bind.execute(sa.text("DELETE FROM tags WHERE id = :old"), {"old": old})


def downgrade() -> None:
    op.drop_index("ix_people_user_name_key", "people")
    with op.batch_alter_table("file_places") as batch:
        batch.drop_column("search_key")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("name_key")
    with op.batch_alter_table("tags", recreate="always") as batch:
        batch.drop_constraint("uq_tags_owner_key", type_="unique")
        batch.drop_column("key")
        batch.drop_column("owner_id")
