"""One run at a time per folder: a second `kenning index` of a folder being indexed (by
another command, or by `kenning serve`'s processing) waits for the first and says so,
rather than doing the same files again.

The lock lives where the library does, so it holds for every process that uses it, and
ends with the process that holds it however that process ends: on SQLite an flock on a
file beside the database, on PostgreSQL an advisory lock of the run's own connection.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import text

from kenning.db import Database

_PG_SPACE = 0x4B454E << 32  # "KEN": advisory lock keys of Kenning's index runs


class MountBusy(Exception):
    """Another process is indexing this folder now."""


def _sqlite_file(db: Database) -> Path | None:
    url = db.url
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    return Path(path) if path and path != ":memory:" else None


@contextmanager
def mount_run(db: Database, mount_id: int, wait: bool = True,
              tell: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold this mount's run lock for the block. Held elsewhere: with `wait`, `tell` so
    and wait for it; else MountBusy."""
    busy = ("another Kenning process is indexing this folder now; waiting for it to "
            "finish (what it does is not done again)")
    if db.engine.dialect.name == "postgresql":
        with _advisory_lock(db, mount_id, wait, tell, busy):
            yield
        return
    database = _sqlite_file(db)
    if database is None:
        yield
        return
    with _file_lock(database.with_name(f"{database.name}.index-{mount_id}.lock"),
                    wait, tell, busy):
        yield


@contextmanager
def _file_lock(path: Path, wait: bool, tell, busy: str) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                raise MountBusy(busy) from None
            if tell is not None:
                tell(busy)
            fcntl.flock(fd, fcntl.LOCK_EX)  # (Ctrl-C interrupts the wait)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def _advisory_lock(db: Database, mount_id: int, wait: bool, tell, busy: str
                   ) -> Iterator[None]:
    key = _PG_SPACE | mount_id
    connection = db.engine.connect()
    try:
        got = connection.execute(text("SELECT pg_try_advisory_lock(:key)"),
                                 {"key": key}).scalar()
        connection.commit()
        if not got:
            if not wait:
                raise MountBusy(busy)
            if tell is not None:
                tell(busy)
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
            connection.commit()
        yield
    finally:
        # The lock is the session's: the connection is closed, never given back to the
        # pool (which would keep the lock with it), and so the lock ends.
        with contextlib.suppress(Exception):
            connection.invalidate()
        connection.close()
