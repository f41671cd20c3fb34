"""The people ranking and each person's sample photo as plain SQL on a DB-API cursor: what
the REST API, WebDAV, the pages and `kenning people` list. Plain SQL (no SQLAlchemy), so
that the command line reads the same on SQLite straight through sqlite3 (catalog/direct.py)
as the server does on a pooled connection. `p`: the driver's placeholder (`?` for
sqlite3, `%s` for psycopg)."""

from __future__ import annotations

from kenning.catalog.paths import absolute_path

FIRST_OWNER = "local"  # the user `kenning index` makes in a new library

_PEOPLE = "SELECT id, name, hidden FROM people WHERE user_id = {p}"
_COUNTS = ("SELECT f.person_id, count(*), count(DISTINCT f.file_id) FROM faces AS f "
           "JOIN people AS p ON p.id = f.person_id WHERE p.user_id = {p} "
           "GROUP BY f.person_id")
_LATEST_FACE = ("SELECT f.person_id, max(f.id) FROM faces AS f "
                "JOIN people AS p ON p.id = f.person_id "
                "WHERE p.user_id = {p} AND f.thumbnail IS NOT NULL GROUP BY f.person_id")
_CHOSEN_FACE = ("SELECT p.id, p.cover_face_id FROM people AS p "
                "JOIN faces AS f ON f.id = p.cover_face_id "
                "WHERE p.user_id = {p} AND f.person_id = p.id AND f.thumbnail IS NOT NULL")
_SAMPLES = ("SELECT f.person_id, m.path, fi.rel_path_raw FROM faces AS f "
            "JOIN (SELECT person_id, max(quality) AS quality FROM faces "
            "      WHERE person_id IN ({ids}) GROUP BY person_id) AS best "
            "  ON best.person_id = f.person_id AND best.quality = f.quality "
            "JOIN files AS fi ON fi.id = f.file_id JOIN mounts AS m ON m.id = fi.mount_id "
            "WHERE m.user_id = {p} ORDER BY f.id")
# Whom the command line acts as when no user is named: the first admin, else the first
# user with folders, else the first user (users.library_owner).
_OWNER = ("SELECT name FROM users WHERE is_admin ORDER BY id LIMIT 1",
          "SELECT name FROM users WHERE id IN (SELECT user_id FROM mounts) ORDER BY id LIMIT 1",
          "SELECT name FROM users ORDER BY id LIMIT 1")


def ranked_people(cursor, user_id: int, p: str = "?") -> list[dict]:
    """Every person of the user with a face or a name: named first, then by number of
    faces; each with faces, photos and the face shown for them (`cover_face`: the one
    the user chose, else their latest with a thumbnail)."""
    people = cursor.execute(_PEOPLE.format(p=p), (user_id,)).fetchall()
    counted = cursor.execute(_COUNTS.format(p=p), (user_id,)).fetchall()
    latest = dict(cursor.execute(_LATEST_FACE.format(p=p), (user_id,)).fetchall())
    chosen = dict(cursor.execute(_CHOSEN_FACE.format(p=p), (user_id,)).fetchall())
    faces = {person: n for person, n, _photos in counted}
    photos = {person: n for person, _faces, n in counted}
    rows = [{"id": i, "name": n, "hidden": bool(h), "faces": faces.get(i, 0),
             "photos": photos.get(i, 0), "cover_face": chosen.get(i) or latest.get(i)}
            for i, n, h in people if faces.get(i) or n]
    rows.sort(key=lambda row: (row["name"] is None, -row["faces"], row["id"]))
    return rows


def samples(cursor, user_id: int, person_ids: list[int], p: str = "?") -> dict[int, str]:
    """A file that shows each of these people of the user, by its path on disk: the one
    with their best face (the most useful to recognise whom an unnamed person is)."""
    found: dict[int, str] = {}
    for start in range(0, len(person_ids), 500):
        part = [int(i) for i in person_ids[start:start + 500]]
        sql = _SAMPLES.format(ids=", ".join([p] * len(part)), p=p)
        for person_id, root, raw in cursor.execute(sql, (*part, user_id)).fetchall():
            found.setdefault(person_id, absolute_path(root, bytes(raw)))
    return found


def user_id(cursor, name: str, p: str = "?") -> int | None:
    row = cursor.execute(f"SELECT id FROM users WHERE name = {p}", (name,)).fetchone()
    return None if row is None else row[0]


def owner_name(cursor) -> str:
    """Whom the command line acts as when no user is named; "local" in a new library."""
    for sql in _OWNER:
        row = cursor.execute(sql).fetchone()
        if row is not None:
            return row[0]
    return FIRST_OWNER
