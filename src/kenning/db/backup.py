"""`kenning db backup`: the whole library (every result, person, name and correction,
users and their tokens) as one SQLite file, taken while Kenning runs.

From SQLite, by SQLite's online backup (one read snapshot: a server or an index run
writing meanwhile costs nothing and leaves no half-written state in the copy); from
PostgreSQL, by copying every table in one REPEATABLE READ transaction (one snapshot too)
into a new SQLite file, which `kenning db migrate --to` takes back into a new PostgreSQL
database. The copy is written beside its destination and renamed into place once it is
checked (`PRAGMA quick_check`), so a destination that exists is a whole backup."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from kenning.db.migrate import copy_library
from kenning.db.session import Database


class BackupError(RuntimeError):
    """The backup could not be made; nothing was left at its destination."""


@dataclass
class Backup:
    path: Path
    bytes: int
    files: int
    people: int  # named people
    faces: int
    user_tags: int  # tags users gave files themselves


def backup(db: Database, destination: Path) -> Backup:
    destination = Path(destination).absolute()
    if destination.exists() or destination.is_symlink():
        raise BackupError(f"{destination} exists: give a new file name (a backup never "
                          "overwrites a file)")
    if not destination.parent.is_dir():
        raise BackupError(f"no such folder: {destination.parent}")
    source = _sqlite_path(db)
    if source is not None and source.resolve() == destination.resolve():
        raise BackupError("that is the library's own database file")
    part = destination.with_name(f".{destination.name}.part")
    with contextlib.suppress(FileNotFoundError):
        part.unlink()  # (a backup that was interrupted before)
    try:
        if source is not None:
            _sqlite_copy(source, part)
        else:
            target = Database(f"sqlite:///{part}")
            try:
                copy_library(db.engine, target.engine)
            finally:
                target.dispose()
        _one_file(part)
        made = _checked(part)
        os.replace(part, destination)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()
        raise
    return Backup(destination, destination.stat().st_size, *made)


def _sqlite_path(db: Database) -> Path | None:
    if db.engine.dialect.name != "sqlite":
        return None
    return Path(db.engine.url.database)


def _sqlite_copy(source: Path, part: Path) -> None:
    """SQLite's online backup, in one step (one read snapshot; writers go on meanwhile in
    WAL mode)."""
    reading = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        writing = sqlite3.connect(part)
        try:
            reading.backup(writing)
        finally:
            writing.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot copy {source}: {exc}") from exc
    finally:
        reading.close()


def _one_file(part: Path) -> None:
    """The copy as a file that is whole by itself (no -wal beside it to lose)."""
    with contextlib.closing(sqlite3.connect(part)) as copy:
        copy.execute("PRAGMA journal_mode=DELETE")


def _checked(part: Path) -> tuple[int, int, int, int]:
    """The copy checked by SQLite, and what it holds."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{part}?mode=ro", uri=True)) as copy:
            verdict = copy.execute("PRAGMA quick_check").fetchone()[0]
            if verdict != "ok":
                raise BackupError(f"the copy failed SQLite's check: {verdict}")
            return tuple(copy.execute(sql).fetchone()[0] for sql in (
                "SELECT count(*) FROM files",
                "SELECT count(*) FROM people WHERE name IS NOT NULL",
                "SELECT count(*) FROM faces",
                "SELECT count(*) FROM file_tags WHERE source = 'user'"))
    except sqlite3.Error as exc:
        raise BackupError(f"the copy cannot be read back: {exc}") from exc
