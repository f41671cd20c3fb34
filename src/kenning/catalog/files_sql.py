"""What the classifiers found in one file, as plain SQL on a DB-API cursor: its tags,
raw labels, each classifier's state, its place and its faces. The server runs it on a
pooled connection (a photo's page, the API) and `kenning tags` on an existing SQLite
library straight through sqlite3 (catalog/direct.py), without loading SQLAlchemy.
`p`: the driver's placeholder."""

from __future__ import annotations

import os
from pathlib import Path

from kenning.faces.marks import is_drawn

_TAGS = ("SELECT t.id, t.name, ft.score, ft.source FROM file_tags AS ft "
         "JOIN tags AS t ON t.id = ft.tag_id WHERE ft.file_id = {p} ORDER BY ft.score DESC")
_LABELS = ("SELECT classifier, label, score FROM file_labels WHERE file_id = {p} "
           "ORDER BY score DESC")
_WORK = ("SELECT classifier, state, error FROM work_items WHERE file_id = {p} "
         "ORDER BY classifier")
_FACES = ("SELECT fa.id, fa.x, fa.y, fa.width, fa.height, fa.score, fa.quality, fa.person_id, "
          "pe.name, fa.assigned_by, fa.not_face, fa.not_face_by, fa.model_version "
          "FROM faces AS fa LEFT JOIN people AS pe ON pe.id = fa.person_id "
          "WHERE fa.file_id = {p} ORDER BY fa.x")
_PLACE_COLUMNS = ("latitude", "longitude", "city", "region", "country", "country_code",
                  "distance_km")
_PLACE = "SELECT " + ", ".join(_PLACE_COLUMNS) + " FROM file_places WHERE file_id = {p}"
_MOUNTS = ("SELECT m.id, m.path FROM mounts AS m JOIN users AS u ON u.id = m.user_id "
           "WHERE u.name = {p}")
FILE_COLUMNS = ("id", "kind", "format", "width", "height", "scan_error", "camera", "lens")
_FILE = ("SELECT " + ", ".join(FILE_COLUMNS) + " FROM files "
         "WHERE mount_id = {p} AND rel_path_raw = {p}")


def file_by_path(cursor, user: str, raw: bytes, p: str = "?") -> dict | None:
    """The file (FILE_COLUMNS) at the real path `raw` (bytes) in one of `user`'s folders,
    or None."""
    for mount_id, root in cursor.execute(_MOUNTS.format(p=p), (user,)).fetchall():
        prefix = os.fsencode(root) + b"/"
        if raw.startswith(prefix):
            row = cursor.execute(_FILE.format(p=p), (mount_id, raw[len(prefix):])).fetchone()
            if row is not None:
                return dict(zip(FILE_COLUMNS, row, strict=True))
    return None


def findings(cursor, file_id: int, p: str = "?") -> dict:
    """Tag rows (tag id, name, score, source), raw labels, each classifier's state, the
    place and the faces (with `id`), best first."""
    def rows(sql: str) -> list[tuple]:
        cursor.execute(sql.format(p=p), (file_id,))
        return cursor.fetchall()

    place = rows(_PLACE)
    return {
        "tag_rows": [tuple(row) for row in rows(_TAGS)],
        "labels": [{"classifier": c, "label": label, "score": round(s, 4)}
                   for c, label, s in rows(_LABELS)],
        "classifiers": [{"classifier": c, "state": st, "error": e} for c, st, e in rows(_WORK)],
        "place": dict(zip(_PLACE_COLUMNS, place[0], strict=True)) if place else None,
        "faces": [{"id": f[0], "box": [round(f[1]), round(f[2]), round(f[3]), round(f[4])],
                   "score": round(f[5], 3), "quality": round(f[6], 3), "person": f[7],
                   "name": f[8], "assigned_by": f[9], "not_face": bool(f[10]),
                   "not_face_by": f[11], "drawn": is_drawn(f[12])}
                  for f in rows(_FACES)],
    }


def not_found(path: Path) -> str:
    """What `kenning tags` says of a path that is no indexed file of the user's."""
    return f"not in the library: {path} (run `kenning index` on its folder first)"


def file_tags(cursor, user: str, path: Path, p: str = "?") -> dict | None:
    """What `kenning tags` shows of a file given by its path, or None when the path is
    in none of the user's folders' indexed files."""
    file = file_by_path(cursor, user, os.fsencode(os.path.realpath(os.path.abspath(path))), p)
    if file is None:
        return None
    found = findings(cursor, file["id"], p)
    return {
        "path": str(path), **{k: file[k] for k in FILE_COLUMNS if k != "id"},
        "tags": [{"tag": n, "score": round(s, 4), "source": src}
                 for _, n, s, src in found["tag_rows"]],
        "labels": found["labels"], "classifiers": found["classifiers"],
        "place": found["place"],
        "faces": [{"face": f.pop("id")} | f for f in found["faces"]],
    }
