"""Tag names: the classifiers' shared vocabulary and each user's own tags.

A tag a classifier gives is shared (owner SHARED): "Dog", "Beach", "Łódź". A tag a user
types is looked for first among their own tags, then among the shared tags on their own
files (or once on them: removed); otherwise it is made as theirs alone. So a user never
learns whether any other user has a tag (no answer depends on another user's library),
and two users' private tags with one name are two tags. Names match by their fold
(kenning.names).

When a classifier later gives a user's file a shared tag that the user had typed
themselves, the two are one tag again (`adopt_shared`, after each index run).
"""

from __future__ import annotations

from sqlalchemy import delete, event, exists, or_, select, update

from kenning.db import Database, File, FileTag, Mount, Tag, TagRejection
from kenning.db.schema import SHARED
from kenning.names import fold


def _insert_ignore(db: Database, table):
    from sqlalchemy.dialects import postgresql, sqlite

    module = postgresql if db.engine.dialect.name == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing()


def shared_tag_ids(db: Database, session, names: set[str]) -> dict[str, int]:
    """Ids of these shared tag names, made where new. Tags are never deleted, so ids once
    committed are remembered: a batch whose tags are all known costs no statement."""
    if not names:
        return {}
    known = db.tag_ids
    missing = names - known.keys()
    found: dict[str, int] = {}
    if missing:
        keys = {name: fold(name) for name in missing}
        rows: dict[str, dict] = {}  # one per key: the first name ("Vienna" before "vienna")
        for name, key in sorted(keys.items()):
            rows.setdefault(key, {"name": name, "key": key, "owner_id": SHARED})
        session.execute(_insert_ignore(db, Tag), list(rows.values()))
        by_key = dict(session.execute(select(Tag.key, Tag.id).where(
            Tag.owner_id == SHARED, Tag.key.in_(set(keys.values())))).all())
        found = {name: by_key[key] for name, key in keys.items()}
        event.listen(session, "after_commit", lambda _: known.update(found), once=True)
    return {name: found[name] if name in found else known[name] for name in names}


def _users_files(user_id: int):
    return select(File.id).where(File.mount_id.in_(
        select(Mount.id).where(Mount.user_id == user_id)))


def ids_for_user(session, user_id: int, name: str) -> list[int]:
    """The tags `name` can mean for this user: their own, and the shared one."""
    if "\0" in name:
        return []
    return list(session.scalars(select(Tag.id).where(
        Tag.key == fold(name), Tag.owner_id.in_((SHARED, user_id))).order_by(Tag.owner_id)))


def tag_to_add(db: Database, session, user_id: int, name: str) -> Tag:
    """The tag a user means by typing `name` (see the module's doc), made if need be."""
    key = fold(name)
    own = session.scalar(select(Tag).where(Tag.owner_id == user_id, Tag.key == key))
    if own is not None:
        return own
    mine = _users_files(user_id)
    shared = session.scalar(select(Tag).where(
        Tag.owner_id == SHARED, Tag.key == key,
        or_(exists().where(FileTag.tag_id == Tag.id, FileTag.file_id.in_(mine)),
            exists().where(TagRejection.tag_id == Tag.id, TagRejection.file_id.in_(mine)))))
    if shared is not None:
        return shared
    session.execute(_insert_ignore(db, Tag), [{"name": name, "key": key, "owner_id": user_id}])
    return session.scalar(select(Tag).where(Tag.owner_id == user_id, Tag.key == key))


def adopt_shared(db: Database, user_id: int) -> int:
    """A user's own tags that a classifier now gives as shared tags to their files
    become that shared tag. Returns how many were merged."""
    with db.session() as session:
        pairs = _pairs(session, user_id)
        for own, shared in pairs:
            for table in (FileTag, TagRejection):
                columns = [c for c in table.__table__.primary_key.columns if c.name != "tag_id"]
                twin = table.__table__.alias("twin")
                same = [twin.c[c.name] == c for c in columns]
                session.execute(delete(table).where(table.tag_id == own, exists().where(
                    twin.c.tag_id == shared, *same)))
                session.execute(update(table).where(table.tag_id == own).values(tag_id=shared))
            session.execute(delete(Tag).where(Tag.id == own))
        return len(pairs)


def _pairs(session, user_id: int) -> list[tuple[int, int]]:
    """(own tag, shared tag with its key) where the shared one is on the user's files."""
    shared = Tag.__table__.alias("shared")
    return list(session.execute(
        select(Tag.id, shared.c.id).join(shared, (shared.c.key == Tag.key)
                                         & (shared.c.owner_id == SHARED))
        .where(Tag.owner_id == user_id, exists().where(
            FileTag.tag_id == shared.c.id, FileTag.file_id.in_(_users_files(user_id))))).all())
