"""Browsing a library as a photo collection: the timeline, folders, places, search
suggestions. Like the rest of the catalog, every function sees only the user's mounts:
another user's id is `NotFound`.

The timeline orders photos and videos newest first by when they were taken (their
capture time, else the file's modification time), read per mount from the index
ix_files_timeline and merged, so its first page costs a few index steps whatever the
library's size. Its pages are keyed by (time, id): a cursor never skips nor repeats a
file, whatever is added meanwhile.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, date, datetime

from sqlalchemy import and_, func, or_, select

from kenning.catalog.core import (
    FILE_COLUMNS,
    FIRST_PAGE_KEPT,
    MAX_ID,
    MAX_PAGE,
    NotFound,
    Page,
    Refused,
    counts,
    file_row,
    owned_mounts,
    page_limit,
    slice_page,
)
from kenning.catalog.mounts import get_mount
from kenning.catalog.people import list_people
from kenning.catalog.tags import list_tags
from kenning.db import Database, File, FilePlace, Mount
from kenning.names import fold

BROWSED_KINDS = ("image", "video")
when_column = func.coalesce(File.taken_ns, File.mtime_ns)
CURSOR = re.compile(r"^(-?\d{1,20})\.(\d{1,10})$")


def _when_iso(when_ns: int) -> str:
    return datetime.fromtimestamp(when_ns / 1e9, UTC).isoformat(timespec="seconds")


def _item(row) -> dict:
    item = file_row(row)
    item["when"] = _when_iso(row.when)
    item["month"] = item["when"][:7]
    item["version"] = row.mtime_ns
    return item


def cursor_of(row) -> str:
    return f"{row.when}.{row.id}"


def parse_cursor(text: str) -> tuple[int, int] | None:
    """A `next` cursor back to (time, id); None for an empty one. Refused when malformed."""
    if not text:
        return None
    match = CURSOR.match(text)
    if match is None or abs(int(match[1])) > 2**62 or int(match[2]) > MAX_ID:
        raise Refused("not a page cursor (use the `next` of the previous page)")
    return int(match[1]), int(match[2])


def _mount_ids(session, user_id: int) -> list[int]:
    return list(session.scalars(select(Mount.id).where(Mount.user_id == user_id)
                                .order_by(Mount.id)))


def _timeline_rows(session, user_id: int, limit: int, before: tuple[int, int] | None,
                   newer: bool = False) -> list:
    """Up to `limit` files of each mount past the cursor, merged: older ones (newest
    first), or with `newer` the ones just after it (oldest first)."""
    rows = []
    for mount_id in _mount_ids(session, user_id):
        query = select(*FILE_COLUMNS, when_column.label("when")).where(
            File.mount_id == mount_id, File.kind.in_(BROWSED_KINDS))
        if before is not None:
            # Written so that both databases seek the index to the cursor (a row-value
            # comparison is not a range SQLite can seek an expression index with).
            when, file_id = before
            query = query.where(
                and_(when_column >= when, or_(when_column > when, File.id > file_id))
                if newer else
                and_(when_column <= when, or_(when_column < when, File.id < file_id)))
        order = (when_column.asc(), File.id.asc()) if newer else \
            (when_column.desc(), File.id.desc())
        rows += session.execute(query.order_by(*order).limit(limit)).all()
    rows.sort(key=lambda r: (r.when, r.id), reverse=not newer)
    return rows[:limit]


def timeline(db: Database, user_id: int, limit: int = 100, before: str = "",
             raw: bool = False) -> Page:
    """Photos and videos, newest first; `next` is the cursor of the following page. The
    first FIRST_PAGE_KEPT, which every visit asks for, are kept until the library changes
    (one entry a user, whatever page size is asked for), as dicts and as JSON texts.
    `raw`: the page holds the JSON texts (see Page.as_json)."""
    limit = page_limit(limit)
    cursor = parse_cursor(before)

    def compute(count: int, as_json: bool) -> tuple[list[dict], list[str], list[str]]:
        with db.session() as session:
            rows = _timeline_rows(session, user_id, count + 1, cursor)
        items = [_item(row) for row in rows]
        texts = [json.dumps(item) for item in items] if as_json else []
        return items, texts, [cursor_of(row) for row in rows]

    if cursor is None and limit <= FIRST_PAGE_KEPT:
        items, texts, cursors = counts.get(db, ("timeline", user_id),
                                           lambda: compute(FIRST_PAGE_KEPT, True))
    else:  # (a page further down: JSON texts only when asked for)
        items, texts, cursors = compute(limit, raw)
    return Page((texts if raw else items)[:limit],
                cursors[limit - 1] if len(items) > limit else None, raw=raw)


_MONTH = {  # the month (YYYY-MM, UTC) of a time in nanoseconds, by the database itself
    "sqlite": "strftime('%Y-%m', {} / 1000000000, 'unixepoch')",
    "postgresql": "to_char(to_timestamp({} / 1000000000) AT TIME ZONE 'UTC', 'YYYY-MM')",
}


def months(db: Database, user_id: int) -> list[dict]:
    """Every month with photos or videos, newest first: its count and the cursor that
    starts the timeline there (`/?before=`): one request jumps to any month."""
    def compute() -> list[dict]:
        from sqlalchemy import literal_column

        with db.session() as session:
            ids = _mount_ids(session, user_id)
            if not ids:
                return []
            when = "coalesce(taken_ns, mtime_ns)"
            month = literal_column(_MONTH[db.engine.dialect.name].format(when))
            rows = session.execute(
                select(month.label("month"), func.count().label("files"))
                .select_from(File).where(File.mount_id.in_(ids),
                                         File.kind.in_(BROWSED_KINDS))
                .group_by(month).order_by(month.desc())).all()
        found = []
        for month_text, files in rows:
            start = datetime.strptime(month_text, "%Y-%m").replace(tzinfo=UTC)
            after = start.replace(year=start.year + start.month // 12,
                                  month=start.month % 12 + 1)
            found.append({"month": month_text, "files": files,
                          "before": f"{int(after.timestamp()) * 10**9}.0"})
        return found

    return counts.get(db, ("months", user_id), compute)


MEMORIES = 6  # photos shown per earlier year "on this day"


def on_this_day(db: Database, user_id: int, today: date) -> list[dict]:
    """Photos and videos taken on today's month and day (UTC) in earlier years, newest
    year first: per year its first few (`MEMORIES`), how many years ago, and the cursor
    that starts the timeline at the end of that day. A few index steps per year that has
    photos in that month (`months`); kept until the library changes or the day does."""
    def compute() -> list[dict]:
        years = sorted({int(m["month"][:4]) for m in months(db, user_id)
                        if m["month"][5:] == f"{today.month:02d}"
                        and int(m["month"][:4]) < today.year}, reverse=True)
        found = []
        with db.session() as session:
            for year in years:
                try:
                    day = datetime(year, today.month, today.day, tzinfo=UTC)
                except ValueError:  # 29 February in a year without one
                    continue
                start = int(day.timestamp()) * 10**9
                end = start + 86_400 * 10**9
                rows = [r for r in _timeline_rows(session, user_id, MEMORIES, (end, 0))
                        if r.when >= start]
                if rows:
                    found.append({"year": year, "years_ago": today.year - year,
                                  "items": [_item(r) for r in rows], "before": f"{end}.0"})
        return found

    return counts.get(db, ("on-this-day", user_id, today.isoformat()), compute)


def neighbours(db: Database, user_id: int, file_id: int) -> dict:
    """The files before and after this one in the timeline (None at either end)."""
    with db.session() as session:
        row = session.execute(select(File.id, File.kind, when_column.label("when")).where(
            File.id == file_id, File.mount_id.in_(owned_mounts(user_id)))).first()
        if row is None:
            raise NotFound(f"no file {file_id}")
        if row.kind not in BROWSED_KINDS:
            return {"newer": None, "older": None}
        key = (row.when, row.id)
        newer = _timeline_rows(session, user_id, 1, key, newer=True)
        older = _timeline_rows(session, user_id, 1, key)
    return {"newer": newer[0].id if newer else None, "older": older[0].id if older else None}


# Folders -------------------------------------------------------------------------------


def _folder_tree(db: Database, user_id: int, mount_id: int) -> dict[str, dict]:
    """Every folder of a mount: {path: {"dirs": Counter(child -> files below it),
    "files": [(name, id)], "cover": a photo or video below it (its newest that was
    processed without a failure) or None}}, "" being the mount itself. Built once per
    library change."""
    def compute():
        from kenning.db import WorkItem, WorkState

        tree: dict[str, dict] = {"": {"dirs": Counter(), "files": [], "cover": None}}
        with db.session() as session:
            rows = session.execute(select(File.id, File.rel_path, File.kind).where(
                File.mount_id == mount_id, File.kind.is_not(None))
                .order_by(when_column.desc(), File.id.desc())).all()
            failed = set(session.scalars(select(WorkItem.file_id).join(
                File, File.id == WorkItem.file_id).where(
                File.mount_id == mount_id, WorkItem.state == WorkState.FAILED)))
        for file_id, rel, kind in rows:
            parts = rel.split("/")
            folder = ""
            can_cover = kind in BROWSED_KINDS and file_id not in failed
            for part in parts[:-1]:
                tree[folder]["dirs"][part] += 1
                if can_cover and tree[folder]["cover"] is None:
                    tree[folder]["cover"] = file_id
                folder = f"{folder}/{part}" if folder else part
                tree.setdefault(folder, {"dirs": Counter(), "files": [], "cover": None})
            if can_cover and tree[folder]["cover"] is None:
                tree[folder]["cover"] = file_id
            tree[folder]["files"].append((parts[-1], file_id))
        for entry in tree.values():
            entry["files"].sort(key=lambda f: (fold(f[0]), f[1]))
        return tree

    return counts.get(db, ("folders", user_id, mount_id), compute)


def mount_cover(db: Database, user_id: int, mount_id: int) -> int | None:
    """A photo or video of the mount to show for it (see _folder_tree)."""
    return _folder_tree(db, user_id, mount_id)[""]["cover"]


def folder(db: Database, user_id: int, mount_id: int, path: str = "", limit: int = 200,
           offset: int = 0) -> dict:
    """One folder of a mount: its subfolders (with how many files are below each) and a
    page of its own files, by name."""
    mount = get_mount(db, user_id, mount_id)
    path = path.strip("/")
    tree = _folder_tree(db, user_id, mount_id)
    entry = tree.get(path)
    if entry is None:
        raise NotFound(f"no folder {path!r} in mount {mount_id}")
    page = slice_page(entry["files"], limit, offset)
    ids = [file_id for _name, file_id in page.items]
    with db.session() as session:
        rows = {row.id: row for row in session.execute(
            select(*FILE_COLUMNS, when_column.label("when")).where(File.id.in_(ids)))}
    crumbs, walked = [], ""
    for part in path.split("/") if path else []:
        walked = f"{walked}/{part}" if walked else part
        crumbs.append({"name": part, "path": walked})
    return {
        "mount": mount, "path": path, "crumbs": crumbs,
        "folders": [{"name": name, "path": f"{path}/{name}" if path else name, "files": count,
                     "cover": tree[f"{path}/{name}" if path else name]["cover"]}
                    for name, count in sorted(entry["dirs"].items(),
                                              key=lambda d: fold(d[0]))],
        "files": Page([_item(rows[i]) for i in ids if i in rows], page.next),
    }


# Places --------------------------------------------------------------------------------


def places(db: Database, user_id: int) -> list[dict]:
    """Countries by number of photos, each with its cities (or regions) by number."""
    def compute():
        with db.session() as session:
            rows = session.execute(
                select(FilePlace.country, FilePlace.city, FilePlace.region, func.count(),
                       func.avg(FilePlace.latitude), func.avg(FilePlace.longitude))
                .join(File, File.id == FilePlace.file_id)
                .where(File.mount_id.in_(owned_mounts(user_id)))
                .group_by(FilePlace.country, FilePlace.city, FilePlace.region)).all()
        countries: dict[str, dict] = {}
        for country, city, region, count, latitude, longitude in rows:
            entry = countries.setdefault(country or "", {
                "country": country, "files": 0, "places": []})
            entry["files"] += count
            name = city or region
            if name:
                entry["places"].append({"name": name, "region": region if city else None,
                                        "files": count, "latitude": latitude,
                                        "longitude": longitude})
        for entry in countries.values():
            entry["places"].sort(key=lambda p: (-p["files"], fold(p["name"])))
        return sorted(countries.values(), key=lambda c: (-c["files"], fold(c["country"] or "")))

    return counts.get(db, ("places", user_id), compute)


# Suggestions ---------------------------------------------------------------------------


def _matching(rows: list[dict], field: str, text: str, limit: int) -> list[dict]:
    key = fold(text)
    starts = [r for r in rows if r.get(field) and fold(r[field]).startswith(key)]
    inside = [r for r in rows if r.get(field) and key in fold(r[field]) and r not in starts]
    words = [r for r in inside if any(w.startswith(key) for w in fold(r[field]).split())]
    return (starts + words + [r for r in inside if r not in words])[:limit]


def suggest(db: Database, user_id: int, text: str, limit: int = 8) -> dict:
    """Tags and named people whose name starts with (then contains) `text`, the most
    used first: what the search box offers as the user types."""
    text = text.strip()
    if not text:
        return {"tags": [], "people": []}
    tags = list_tags(db, user_id, MAX_PAGE * 20, 0).items
    people = [p for p in list_people(db, user_id, MAX_PAGE * 20, 0).items
              if p["name"]]
    return {"tags": [{"tag": t["tag"], "files": t["files"]}
                     for t in _matching(tags, "tag", text, limit)],
            "people": [{"id": p["id"], "name": p["name"], "faces": p["faces"],
                        "cover_face": p["cover_face"]}
                       for p in _matching(people, "name", text, limit)]}
