"""The read layer's common parts: ids, pages, errors, the per-user cache of rankings, the
user's mounts and the one shape of a file that every list shows."""

from __future__ import annotations

import contextvars
import json
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from kenning.db import Database, File, Mount, User, generation

MAX_PAGE = 500
FIRST_PAGE_KEPT = 200  # items of a first page kept (the web page shows 120 at first)
MAX_ID = 2**31 - 1  # ids are 32-bit integer columns in PostgreSQL: larger ones never exist


def as_id(value) -> int | None:
    """An id from what a client sent (an int, or ASCII digits), or None when it cannot be
    one: out of range for an id column (a database would refuse it) or not a number."""
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()) or len(value) > 10:
            return None
        value = int(value)
    return value if isinstance(value, int) and 1 <= value <= MAX_ID else None
GENERATION_SECONDS = 1.0
USER_TAG = "user"


class NotFound(LookupError):
    """No such id for this user, or a file, tag, person or classifier they named that is not
    in their library."""


class Refused(ValueError):
    """A change that cannot be made (bad value, or it would break a rule)."""


@dataclass(frozen=True)
class Page:
    items: list
    next: int | None
    raw: bool = False  # items are JSON texts made by the database

    def as_dict(self) -> dict:
        items = [json.loads(item) for item in self.items] if self.raw else self.items
        return {"items": items, "next": self.next}

    def as_json(self) -> str:
        if not self.raw:
            return json.dumps(self.as_dict())
        return f'{{"items":[{",".join(self.items)}],"next":{json.dumps(self.next)}}}'



class _Counts:
    """Per-user rankings, recomputed only when what that user sees changed: the library's
    generation marker or their own moved (db/generation.py; any process's change moves
    them). The markers are read at most every GENERATION_SECONDS per user, so a busy
    server reads one row a second, not one a request.

    At most `per_user` values are kept for each user (and `most` in all), the least
    recently used forgotten first: a client asking for ever new keys (a made-up tag name
    a request) can neither grow the server's memory without end nor push out what other
    users' pages need."""

    def __init__(self, per_user: int = 256, most: int = 4096) -> None:
        self.per_user, self.most = per_user, most
        self._per_user_count: dict[int, int] = {}
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple, tuple[str, object]] = OrderedDict()
        self._computing: dict[tuple, list] = {}  # key -> [lock, requests using it]
        self._markers: dict[int, tuple[float, str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def changed(self) -> None:
        with self._lock:
            self._markers.clear()

    def marker(self, db: Database, user_id: int) -> str:
        """What the user sees, as a value that changes when it does (at most
        GENERATION_SECONDS late for another process's change)."""
        return self._current(db, user_id)

    def _current(self, db: Database, user_id: int) -> str:
        now = time.monotonic()
        with self._lock:
            known = self._markers.get(user_id)
        if known is not None and known[0] > now:
            return known[1]
        with db.session() as session:
            value = generation.current_for(session, user_id)
        with self._lock:
            self._markers[user_id] = (now + GENERATION_SECONDS, value)
        return value

    def _fresh(self, key: tuple, marker: str):
        """(found, value) from the cache, under the lock."""
        entry = self._entries.get(key)
        if entry is None or entry[0] != marker:
            return False, None
        self._entries.move_to_end(key)
        return True, entry[1]

    def _keep(self, key: tuple, entry: tuple[str, object]) -> None:
        """(Under the lock.) Stores an entry, forgetting the user's least recently used
        beyond `per_user`, and anyone's beyond `most`."""
        user = key[1]
        if key not in self._entries:
            self._per_user_count[user] = self._per_user_count.get(user, 0) + 1
        self._entries[key] = entry
        self._entries.move_to_end(key)
        if self._per_user_count[user] > self.per_user:
            self._forget(next(k for k in self._entries if k[1] == user))
        while len(self._entries) > self.most:
            self._forget(next(iter(self._entries)))

    def _forget(self, key: tuple) -> None:
        del self._entries[key]
        self._per_user_count[key[1]] -= 1

    def get(self, db: Database, key: tuple, compute):
        """The value of `compute()` for `key`, whose second part is the user it is for.
        Under `cached_only()`: Uncached rather than computing it."""
        marker = self._current(db, key[1])
        with self._lock:
            found, value = self._fresh(key, marker)
        if found:
            return value
        if _cached_only.get():
            raise Uncached(key)
        with self._lock:
            gate = self._computing.setdefault(key, [threading.Lock(), 0])
            gate[1] += 1
        try:
            with gate[0]:  # one computation per key at a time; the others wait for it
                with self._lock:
                    found, value = self._fresh(key, marker)
                if found:
                    return value
                value = compute()
                with self._lock:
                    self._keep(key, (marker, value))
                return value
        finally:
            with self._lock:
                gate[1] -= 1
                if not gate[1]:
                    del self._computing[key]


class Uncached(Exception):
    """(Under `cached_only`.) A ranking would have to be computed."""


_cached_only: contextvars.ContextVar[bool] = contextvars.ContextVar("cached_only",
                                                                     default=False)


@contextmanager
def cached_only() -> Iterator[None]:
    """Within: rankings are only taken from the cache (else Uncached): an async route
    tries so on the event loop, and computes in a thread only when it must, so that a
    whole-library count never holds up the other requests."""
    token = _cached_only.set(True)
    try:
        yield
    finally:
        _cached_only.reset(token)


counts = _Counts()


def changed() -> None:
    """This process changed the library: read the generation marker again at once."""
    counts.changed()


@contextmanager
def raw_cursor(db: Database) -> Iterator[tuple[object, str]]:
    """A cursor of the driver itself on a pooled connection (no result wrapping: plain SQL
    the busiest reads share with the command line, people_sql.py), and its placeholder."""
    from kenning.db.session import driver_errors

    dialect = db.engine.dialect
    connection = db.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            with driver_errors(dialect, connection, cursor):
                yield cursor, "%s" if dialect.name == "postgresql" else "?"
        finally:
            cursor.close()
    finally:
        connection.close()  # back to the pool (which rolls back what is left open)


def owned_mounts(user: int | str):
    """The ids of the user's mounts (the user by id, or by name as the CLI knows them), as
    a subquery."""
    if isinstance(user, str):
        return select(Mount.id).join(User, User.id == Mount.user_id).where(User.name == user)
    return select(Mount.id).where(Mount.user_id == user)


def page_limit(limit: int) -> int:
    return max(1, min(MAX_PAGE, int(limit)))


def as_ns(moment: datetime) -> int:
    """Nanoseconds since 1970, held within what a 64-bit column stores."""
    return max(-(2**62), min(2**62, int(moment.timestamp() * 1e9)))


def iso_time(mtime_ns: int) -> str:
    return datetime.fromtimestamp(mtime_ns / 1e9, UTC).isoformat(timespec="seconds")


FILE_COLUMNS = (File.id, File.mount_id, File.rel_path, File.kind, File.format, File.size,
                File.width, File.height, File.mtime_ns, File.taken_ns)


def file_row(file) -> dict:
    """A file as the API shows it, from a File or a row of FILE_COLUMNS."""
    return {"id": file.id, "mount": file.mount_id, "path": file.rel_path,
            "name": os.path.basename(file.rel_path), "kind": file.kind, "format": file.format,
            "size": file.size, "width": file.width, "height": file.height,
            "modified": iso_time(file.mtime_ns),
            "taken": None if file.taken_ns is None else iso_time(file.taken_ns)}


def file_page(session, query, limit: int, key=File.id) -> Page:
    """A page of files from a select of FILE_COLUMNS, in the order of `key`."""
    limit = page_limit(limit)
    rows = session.execute(query.order_by(key).limit(limit + 1)).all()
    items = [file_row(row) for row in rows[:limit]]
    return Page(items, items[-1]["id"] if len(rows) > limit else None)


def owned_file(session, user_id: int, file_id: int) -> File:
    if as_id(file_id) is None:
        raise NotFound(f"no file {file_id}")
    file = session.scalar(select(File).where(File.id == file_id,
                                             File.mount_id.in_(owned_mounts(user_id))))
    if file is None:
        raise NotFound(f"no file {file_id}")
    return file



def slice_page(rows: list, limit: int, offset: int) -> Page:
    limit, offset = page_limit(limit), max(0, int(offset))
    return Page(rows[offset:offset + limit],
                offset + limit if offset + limit < len(rows) else None)


def people_error(exc: Exception) -> Exception:
    """What an API or DAV route raises for an error from the people operations
    (faces/people.py: loaded by then, and not before, as it needs numpy)."""
    from kenning.faces.people import NoSuchPerson

    return NotFound(str(exc)) if isinstance(exc, NoSuchPerson) else Refused(str(exc))
