"""What `kenning status` and the status page show, as plain SQL on a DB-API cursor: per
classifier how many of the user's files are pending, done and failed, their files by kind,
their folders. Plain SQL (no SQLAlchemy), so that the command line reads the same on
SQLite straight through sqlite3 (catalog/direct.py) as the server does on a pooled
connection. `p`: the driver's placeholder."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

_MOUNTS = "SELECT m.id FROM mounts AS m JOIN users AS u ON u.id = m.user_id WHERE u.name = {p}"
_WORK = ("SELECT w.classifier, w.state, count(*) FROM work_items AS w "
         "JOIN files AS f ON f.id = w.file_id WHERE f.mount_id IN (" + _MOUNTS + ") "
         "GROUP BY w.classifier, w.state")
_KINDS = ("SELECT coalesce(kind, 'unusable'), count(*) FROM files "
          "WHERE mount_id IN (" + _MOUNTS + ") GROUP BY kind")
_FOLDERS = "SELECT path, scanned_at FROM mounts WHERE id IN (" + _MOUNTS + ") ORDER BY path"


@dataclass
class ClassifierStatus:
    classifier: str
    pending: int = 0
    done: int = 0
    failed: int = 0


def status(cursor, user: str, p: str = "?") -> dict:
    counts = cursor.execute(_WORK.format(p=p), (user,)).fetchall()
    kinds = {kind: n for kind, n in cursor.execute(_KINDS.format(p=p), (user,)).fetchall()}
    folders = cursor.execute(_FOLDERS.format(p=p), (user,)).fetchall()
    by_classifier: dict[str, ClassifierStatus] = {}
    for classifier, state, count in counts:
        entry = by_classifier.setdefault(classifier, ClassifierStatus(classifier))
        if state in ("pending", "done", "failed"):
            setattr(entry, state, count)
    return {
        "mounts": [{"path": path, "scanned_at": _iso(when)} for path, when in folders],
        "files": kinds,
        "classifiers": [asdict(s) for s in sorted(by_classifier.values(),
                                                  key=lambda s: s.classifier)],
    }


def _iso(when) -> str | None:
    """A time as the database gave it (PostgreSQL: a datetime; SQLite: its text)."""
    if when is None:
        return None
    return (when if isinstance(when, datetime) else datetime.fromisoformat(when)).isoformat()
