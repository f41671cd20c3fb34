"""Search by tags, people, dates, places and kind: the one query every search uses (the
word search of wordsearch.py turns words into its filters)."""

from __future__ import annotations

from collections import namedtuple
from datetime import datetime

from sqlalchemy import func, select

from kenning import tagnames
from kenning.catalog.core import (
    FILE_COLUMNS,
    FIRST_PAGE_KEPT,
    NotFound,
    Page,
    as_ns,
    counts,
    file_page,
    file_row,
    owned_mounts,
    page_limit,
    raw_cursor,
)
from kenning.db import Database, Face, File, FilePlace, FileTag, Person
from kenning.names import fold, like_pattern

# The two searches a busy server answers most (a person's photos, a tag's files) as plain
# SQL on a pooled connection: a third of the cost of building the general query.
_COLUMNS = ("f.id, f.mount_id, f.rel_path, f.kind, f.format, f.size, f.width, f.height, "
            "f.mtime_ns, f.taken_ns")
# The same file, as the JSON object _file_row makes, built by the database itself (a page
# of 100 then costs no Python work per file).
_AS_JSON = {
    "sqlite": "json_object('id', f.id, 'mount', f.mount_id, 'path', f.rel_path, 'name', "
              "substr(f.rel_path, length(rtrim(f.rel_path, replace(f.rel_path, '/', ''))) + 1),"
              " 'kind', f.kind, 'format', f.format, 'size', f.size, 'width', f.width, "
              "'height', f.height, 'modified', strftime('%Y-%m-%dT%H:%M:%S+00:00', "
              "f.mtime_ns / 1000000000, 'unixepoch'), 'taken', strftime("
              "'%Y-%m-%dT%H:%M:%S+00:00', f.taken_ns / 1000000000, 'unixepoch'))",
    "postgresql": "json_build_object('id', f.id, 'mount', f.mount_id, 'path', f.rel_path, "
                  "'name', regexp_replace(f.rel_path, '^.*/', ''), 'kind', f.kind, 'format', "
                  "f.format, 'size', f.size, 'width', f.width, 'height', f.height, "
                  "'modified', to_char(to_timestamp(f.mtime_ns / 1000000000) AT TIME ZONE "
                  "'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"'), 'taken', to_char("
                  "to_timestamp(f.taken_ns / 1000000000) AT TIME ZONE 'UTC', "
                  "'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"'))::text, f.id",
}
_FAST = {
    kind: ("SELECT {columns} FROM " + table + " AS d JOIN files AS f ON f.id = d.file_id "
           "WHERE d." + column + " = {p} AND d.file_id > {p} AND f.mount_id IN "
           "(SELECT id FROM mounts WHERE user_id = {p}) GROUP BY {group} "
           "ORDER BY d.file_id LIMIT {p}")
    for kind, table, column in (("person", "faces", "person_id"),
                                ("tag", "file_tags", "tag_id"))
}
# SQLite walks the index in file order and stops after a page only when grouping by the
# index column alone; PostgreSQL wants the selected key in the GROUP BY too.
_GROUP = {"sqlite": "d.file_id", "postgresql": "d.file_id, f.id"}


def tag_ids_of(db: Database, user_id: int, tag: int | str | tuple[int, ...]
               ) -> tuple[int, ...]:
    """The ids a tag (an id, or a name: the user's own and the shared one; or ids, any
    of which will do) stands for, kept until the library changes."""
    if isinstance(tag, int):
        return (tag,)
    if isinstance(tag, tuple):
        return tag

    def compute():
        with db.session() as session:
            return tuple(tagnames.ids_for_user(session, user_id, str(tag)))

    return counts.get(db, ("tag", user_id, fold(str(tag))), compute)


_FileRow = namedtuple("_FileRow",
                      "id mount_id rel_path kind format size width height mtime_ns taken_ns")


def _fast_search(db: Database, kind: str, user_id: int, key: int, limit: int,
                 after: int, raw: bool) -> Page:
    """A person's or a tag's files in id order. The first FIRST_PAGE_KEPT, which every
    visit asks for, are kept until the library changes and cut to the size asked for."""
    limit = page_limit(limit)
    if after == 0 and limit <= FIRST_PAGE_KEPT:
        rows = counts.get(db, ("first-page", user_id, kind, key, raw),
                          lambda: _fast_rows(db, kind, user_id, key, FIRST_PAGE_KEPT, 0, raw))
    else:
        rows = _fast_rows(db, kind, user_id, key, limit, after, raw)
    more = len(rows) > limit
    if raw:
        return Page([row[0] for row in rows[:limit]], rows[limit - 1][1] if more else None,
                    raw=True)
    items = [file_row(_FileRow(*row)) for row in rows[:limit]]
    return Page(items, items[-1]["id"] if more else None)


def _fast_rows(db: Database, kind: str, user_id: int, key: int, limit: int, after: int,
               raw: bool) -> list[tuple]:
    """Up to `limit` + 1 rows: (the file as JSON, its id) when `raw`, else FILE_COLUMNS."""
    dialect = db.engine.dialect.name
    columns = _AS_JSON[dialect] + ("" if dialect == "postgresql" else ", f.id") if raw \
        else _COLUMNS
    with raw_cursor(db) as (cursor, placeholder):
        sql = _FAST[kind].format(p=placeholder, group=_GROUP[dialect], columns=columns)
        cursor.execute(sql, (key, after, user_id, limit + 1))
        return [tuple(row) for row in cursor.fetchall()]


def search(db: Database, user_id: int, tags: list[int | str | tuple[int, ...]] = (),
           people: list[int] = (), date_from: datetime | None = None,
           date_to: datetime | None = None, place: str | None = None, kind: str | None = None,
           limit: int = 100, after: int = 0, raw: bool = False) -> Page:
    """Files with all of `tags` (ids or names, or tuples of ids: any of them), showing all
    of `people`, taken in the date range (the capture time, else the file's time), at a
    place whose city, region or country contains `place`.
    `raw`: the page may hold JSON texts instead of dicts (see Page.as_json).

    The most selective index drives the query in file-id order (a person's faces, else
    the first tag's files), so a page costs about its own size, not the library's."""
    simple = not (date_from or date_to or place or kind)
    if simple and len(people) == 1 and not tags:
        page = _fast_search(db, "person", user_id, people[0], limit, after, raw)
        if page.items:
            return page  # (an empty page may mean another user's person: checked below)
    tag_ids = [tag_ids_of(db, user_id, tag) for tag in tags]
    if not all(tag_ids):
        return Page([], None)
    if simple and len(tag_ids) == 1 and len(tag_ids[0]) == 1 and not people:
        return _fast_search(db, "tag", user_id, tag_ids[0][0], limit, after, raw)
    with db.session() as session:
        people = list(dict.fromkeys(people))
        if people:
            owned = set(session.scalars(select(Person.id).where(
                Person.id.in_(people), Person.user_id == user_id)))
            missing = [p for p in people if p not in owned]
            if missing:
                raise NotFound(f"no person {missing[0]}")
        query = select(*FILE_COLUMNS).where(File.mount_id.in_(owned_mounts(user_id)))
        key = File.id
        also = (File.id,) if db.engine.dialect.name == "postgresql" else ()  # see _GROUP
        if people:
            first = people.pop(0)
            query = query.join(Face, Face.file_id == File.id).where(
                Face.person_id == first, Face.file_id > after).group_by(Face.file_id, *also)
            key = Face.file_id
        elif tag_ids:
            first = tag_ids.pop(0)
            query = query.join(FileTag, FileTag.file_id == File.id).where(
                FileTag.tag_id.in_(first), FileTag.file_id > after
            ).group_by(FileTag.file_id, *also)
            key = FileTag.file_id
        else:
            query = query.where(File.id > after)
        for ids in tag_ids:
            query = query.where(File.id.in_(select(FileTag.file_id)
                                            .where(FileTag.tag_id.in_(ids))))
        for person_id in people:
            query = query.where(File.id.in_(select(Face.file_id)
                                            .where(Face.person_id == person_id)))
        when = func.coalesce(File.taken_ns, File.mtime_ns)  # taken, else the file's time
        if date_from is not None:
            query = query.where(when >= as_ns(date_from))
        if date_to is not None:
            query = query.where(when < as_ns(date_to))
        if place:  # city, region or country contains it, matched by the names' fold
            like = like_pattern(fold(place))
            query = query.where(File.id.in_(select(FilePlace.file_id).where(
                FilePlace.search_key.like(like, escape="\\"))))
        if kind:
            query = query.where(File.kind == kind)
        return file_page(session, query, limit, key)
