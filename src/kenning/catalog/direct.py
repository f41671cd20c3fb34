"""The library's SQLite file read straight through the standard library's sqlite3, for a
command that only reads and should answer at once (`kenning people`: SQLAlchemy and its
ORM alone cost about 0.3 s of CPU to load). The SQL is the one the server runs
(people_sql.py). Only for a SQLite file that exists and whose schema is the newest: a
command that finds anything else opens the database the usual way, which creates or
upgrades it (db/migrate.py)."""

from __future__ import annotations

import os
import sqlite3

from kenning.revisions import newest_revision_file

PREFIX = "sqlite:///"


def open_current(url: str) -> sqlite3.Connection | None:
    """A connection to the SQLite database at `url`, or None when it is not one this
    Kenning reads as it is (not SQLite, no file yet, an older or newer schema)."""
    if not url.startswith(PREFIX) or "?" in url:
        return None
    path = url.removeprefix(PREFIX)
    if not os.path.isfile(path):
        return None
    try:
        connection = sqlite3.connect(path, timeout=30)
    except sqlite3.Error:
        return None
    try:
        connection.execute("PRAGMA busy_timeout=30000")
        found = [row[0] for row in connection.execute("SELECT version_num FROM alembic_version")]
    except sqlite3.Error:  # no such table: a database this Kenning must set up first
        found = []
    if found != [newest_revision_file()]:
        connection.close()
        return None
    return connection
