"""Engine and sessions: SQLite in WAL mode by default, PostgreSQL by URL."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kenning.db.migrate import SchemaError, prepare_schema
from kenning.db.schema import Meta

T = TypeVar("T")
log = logging.getLogger(__name__)


class DatabaseError(RuntimeError):
    """The database cannot be opened or is of an unknown schema."""


def retryable(exc: DBAPIError) -> bool:
    """A database error that goes away if the same work is tried again: a busy SQLite
    file, or a connection the server dropped (restarted, or its backend killed)."""
    text = str(exc)
    return (exc.connection_invalidated or "locked" in text or "busy" in text
            or isinstance(exc, OperationalError) and "connection" in text.lower())


def database_gone(exc: BaseException) -> str | None:
    """Why the database stopped answering (its server stopped, the connection was cut,
    the file stayed locked), in one line, when `exc` says so; None for any other error."""
    if not (isinstance(exc, DBAPIError) and retryable(exc)):
        return None
    lines = str(exc.orig or exc).strip().splitlines()
    return lines[0] if lines else exc.__class__.__name__


# Errors of the machine under the database, never of one file's results: SQLite's
# primary result codes (out of memory, read-only, I/O error, corrupt, full, cannot open)
# and PostgreSQL's SQLSTATEs (classes 53 insufficient resources and 58 system error, a
# read-only transaction, corrupted data or index).
_MACHINE_SQLITE_CODES = {7, 8, 10, 11, 13, 14}
_MACHINE_SQLSTATES = ("53", "58", "25006", "XX001", "XX002")


def database_unwritable(exc: BaseException) -> str | None:
    """Why the database cannot take what is written (its disk is full, read-only, failing
    or damaged), in one line, when `exc` says so; None for any other error. Such an error
    ends a run (what was stored is kept) and never fails a file: the same file would be
    stored well once there is room."""
    if not isinstance(exc, DBAPIError) or exc.orig is None:
        return None
    code = getattr(exc.orig, "sqlite_errorcode", None)
    state = getattr(exc.orig, "sqlstate", None) or ""
    if (code is not None and code & 0xFF in _MACHINE_SQLITE_CODES) or \
            (state and state.startswith(_MACHINE_SQLSTATES)):
        lines = str(exc.orig).strip().splitlines()
        return lines[0] if lines else exc.orig.__class__.__name__
    return None


def database_trouble(exc: BaseException) -> str | None:
    """What is wrong with the database, in words ("the database is not answering (...)",
    "the database cannot be written (...)"), when `exc` is `database_gone` or
    `database_unwritable`; None for any other error."""
    why = database_gone(exc)
    if why is not None:
        return f"the database is not answering ({why})"
    why = database_unwritable(exc)
    return None if why is None else f"the database cannot be written ({why})"


def trouble_for_clients(trouble: str) -> str:
    """`database_trouble`'s words without the database's own (which stay in the log):
    what a web client is told with its 503."""
    return trouble[0].upper() + trouble[1:].split(" (")[0] + ": try again in a moment"


@contextmanager
def driver_errors(dialect, connection=None, cursor=None) -> Iterator[None]:
    """The driver's own errors (raised by plain SQL on a raw connection) as the DBAPIError
    SQLAlchemy raises for its statements, so that `retryable`, `Database.retrying` and
    the server's 503 know them; a `connection` the server dropped is invalidated (not
    given back to the pool)."""
    try:
        yield
    except dialect.loaded_dbapi.Error as exc:
        gone = dialect.is_disconnect(exc, getattr(connection, "dbapi_connection", None),
                                     cursor)
        if gone and connection is not None:
            connection.invalidate(exc)
        raise DBAPIError.instance(None, None, exc, dialect.loaded_dbapi.Error,
                                  connection_invalidated=gone, dialect=dialect) from exc


SQLITE_POOL = 24  # connections kept open (a few MB of page cache each, at most)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _no_flush_wait(dbapi_connection, _record) -> None:
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    dbapi_connection.commit()


def _private_file(path: Path) -> None:
    """The SQLite file and its folder, made readable by this user only (SQLite gives its
    -wal and -shm files the database file's permissions)."""
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))


class Database:
    def __init__(self, url: str, prepare: bool = True, wait_for_flush: bool = True) -> None:
        """`prepare`: create, adopt or (SQLite) upgrade the schema; `kenning db` skips it.
        `wait_for_flush=False` (workers): PostgreSQL acknowledges a commit before its WAL
        reaches the disk. A server crash can then lose the last moment of results, which
        are simply still pending and done again; nothing is ever inconsistent."""
        self.url = url
        self.tag_ids: dict[str, int] = {}  # tag name -> id, committed (pipeline/jobs.tag_ids)
        try:
            if url.startswith("sqlite:///"):
                _private_file(Path(url.removeprefix("sqlite:///")))
                # A pool as large as the server's busiest moment (its thread pool runs
                # up to 40 requests): a connection opened for each request past the pool
                # costs its pragmas and file checks (a third of a cached thumbnail's time).
                self.engine: Engine = create_engine(url, connect_args={"timeout": 30},
                                                    pool_size=SQLITE_POOL, max_overflow=40)
                event.listen(self.engine, "connect", _sqlite_pragmas)
            else:
                self.engine = create_engine(url, pool_pre_ping=True)
                if not wait_for_flush and self.engine.dialect.name == "postgresql":
                    event.listen(self.engine, "connect", _no_flush_wait)
        except ImportError as exc:
            raise DatabaseError(
                f"no driver for {url.split(':', 1)[0]}: {exc.name} is not installed "
                "(for PostgreSQL: pip install 'kenning[postgresql]')") from exc
        except (SQLAlchemyError, ValueError, OSError) as exc:
            raise DatabaseError(f"cannot use database URL {url!r}: {exc}") from exc
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if prepare:
            self._create_schema()

    def _create_schema(self) -> None:
        try:
            prepare_schema(self.engine)
        except SchemaError as exc:
            raise DatabaseError(str(exc)) from exc
        except SQLAlchemyError as exc:
            raise DatabaseError(f"cannot open database {self.url}: {exc.__class__.__name__}: "
                                f"{str(exc).splitlines()[0]}") from exc

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        session = self._sessions()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def retrying(self, work: Callable[..., T], *args, attempts: int = 8,
                 pause: float = 0.5) -> T:
        """`work(*args)`, done again while it fails with a `retryable` error, after
        `pause`, then twice, three times... that (14 s in all by default: a database
        server restarted for an upgrade is back by then). Only for work that is one transaction
        (or several that may be done twice): what failed was rolled back, and the pool
        opens a new connection for the next try."""
        for attempt in range(attempts):
            try:
                return work(*args)
            except DBAPIError as exc:
                if attempt == attempts - 1 or not retryable(exc):
                    raise
                log.warning("database error, retrying: %s", str(exc).splitlines()[0])
                time.sleep(pause * (attempt + 1))
        raise AssertionError("unreachable")

    def raw_connection(self):
        """A pooled connection of the driver itself; failing to open one raises a
        DBAPIError as SQLAlchemy's own statements do (see `driver_errors`)."""
        with driver_errors(self.engine.dialect):
            return self.engine.raw_connection()

    def schema_version(self) -> int:
        with self.session() as session:
            return int(session.scalar(select(Meta.value).where(Meta.key == "schema_version")))

    def dispose(self) -> None:
        self.engine.dispose()
