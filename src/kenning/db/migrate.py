"""Schema versions (Alembic, in db/migrations/) and moving a library to another database.

- A new, empty database gets the whole schema at once and is stamped at the newest
  revision. A database made before Alembic (schema version 2) is stamped at the baseline.
- SQLite (one machine, one process at a time) is upgraded when Kenning opens it.
  PostgreSQL is shared by workers on many machines, so it is only ever upgraded by
  `kenning db upgrade`; until then Kenning refuses it with a message saying so.
- `kenning db migrate --to URL` copies every row, ids included, into an empty database,
  so nothing has to be processed again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, func, insert, inspect, select, text
from sqlalchemy.exc import SQLAlchemyError

from kenning.db.schema import SCHEMA_VERSION, Base, Meta
from kenning.revisions import newest_revision_file

if TYPE_CHECKING:
    from alembic.config import Config

BASELINE = "0001"  # the schema of version 2, made before Alembic
COPY_ROWS = 2000


class SchemaError(RuntimeError):
    """The database's schema is not the one this Kenning uses, in a way the user must fix."""


def _config(connection: Connection) -> Config:
    from alembic.config import Config  # Alembic is imported only when it has work

    config = Config()
    config.set_main_option("script_location", "kenning.db:migrations")
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(_config(None)).get_current_head()


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _at_newest(engine: Engine) -> bool:
    """The database is at the newest revision: what every start but an upgrade finds,
    asked in one query (Alembic's import alone costs a tenth of a second)."""
    try:
        with engine.connect() as connection:
            found = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except SQLAlchemyError:  # no such table: a new or pre-Alembic database
        return False
    return [row[0] for row in found] == [newest_revision_file()]


def _lock(connection: Connection) -> None:
    """One process at a time sets up a PostgreSQL schema (workers may start together)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(74201)"))


def _record_version(connection: Connection) -> None:
    row = connection.execute(select(Meta.value).where(Meta.key == "schema_version")).first()
    if row is None:
        connection.execute(insert(Meta).values(key="schema_version", value=str(SCHEMA_VERSION)))
    else:
        connection.execute(Meta.__table__.update().where(Meta.key == "schema_version")
                           .values(value=str(SCHEMA_VERSION)))


@contextmanager
def _migrating(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction for changing the schema. On SQLite, foreign keys
    are off meanwhile (SQLite rebuilds a table to change it, and dropping the old table
    with foreign keys on would delete every row that refers to it), and checked after."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            yield connection
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        try:
            with connection.begin():
                yield connection
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                if broken:
                    raise SchemaError(f"the upgrade would break references: {broken[:5]}")
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


def prepare_schema(engine: Engine) -> None:
    """Make a new database, adopt a pre-Alembic one, upgrade SQLite; refuse the rest."""
    if _at_newest(engine):
        return
    from alembic import command

    head = head_revision()
    with _migrating(engine) as connection:
        _lock(connection)
        current = current_revision(connection)
        if current == head:
            return
        tables = set(inspect(connection).get_table_names())
        if current is None and "files" not in tables:
            Base.metadata.create_all(connection)
            command.stamp(_config(connection), head)
            _record_version(connection)
            return
        if current is None:
            _check_pre_alembic(connection)
            command.stamp(_config(connection), BASELINE)
            current = BASELINE
        if current not in _known_revisions():
            raise SchemaError(f"the database's schema ({current}) is newer than this Kenning "
                              f"knows ({head}); upgrade Kenning")
        if connection.dialect.name != "sqlite":
            raise SchemaError(f"the database's schema is at {current}, this Kenning needs "
                              f"{head}: run `kenning db upgrade` once (stop the workers first)")
        command.upgrade(_config(connection), head)
        _record_version(connection)


def _check_pre_alembic(connection: Connection) -> None:
    row = connection.execute(select(Meta.value).where(Meta.key == "schema_version")).first()
    if row is None or int(row[0]) != 2:
        found = "no version" if row is None else f"version {row[0]}"
        raise SchemaError(f"the database has Kenning's tables but {found}; it was not made by "
                          "a Kenning this one can upgrade")


def _known_revisions() -> set[str]:
    from alembic.script import ScriptDirectory

    return {s.revision for s in ScriptDirectory.from_config(_config(None)).walk_revisions()}


def upgrade(engine: Engine) -> tuple[str | None, str]:
    """`kenning db upgrade`: (revision before, revision after)."""
    from alembic import command

    head = head_revision()
    with _migrating(engine) as connection:
        _lock(connection)
        before = current_revision(connection)
        tables = set(inspect(connection).get_table_names())
        if before is None and "files" in tables:
            _check_pre_alembic(connection)
            command.stamp(_config(connection), BASELINE)
            before = BASELINE
        elif before is not None and before not in _known_revisions():
            raise SchemaError(f"the database's schema ({before}) is newer than this Kenning")
        command.upgrade(_config(connection), head)
        _record_version(connection)
    return before, head


def copy_library(source: Engine, target: Engine) -> dict[str, int]:
    """Copy every row into `target` (a database Kenning prepared and nothing else wrote
    into), ids included; sequences are moved past the copied ids. Returns rows per table.
    From PostgreSQL the tables are read in one REPEATABLE READ transaction: one snapshot,
    whatever a server or a run writes meanwhile."""
    with target.connect() as connection:
        busy = [t.name for t in Base.metadata.sorted_tables if t.name != Meta.__tablename__
                and connection.execute(select(func.count()).select_from(t)).scalar()]
    if busy:
        raise SchemaError(f"the target database is not empty (it has {', '.join(busy)}); "
                          "migrate into a new, empty database")
    copied: dict[str, int] = {}
    with source.connect() as reading, target.begin() as writing:
        if source.dialect.name == "postgresql":
            reading.execution_options(isolation_level="REPEATABLE READ")
        for table in Base.metadata.sorted_tables:
            if table.name == Meta.__tablename__:
                continue
            count = 0
            result = reading.execution_options(stream_results=True).execute(
                select(table).order_by(*table.primary_key.columns))
            while rows := result.fetchmany(COPY_ROWS):
                writing.execute(insert(table), [dict(row._mapping) for row in rows])
                count += len(rows)
            copied[table.name] = count
        if writing.dialect.name == "postgresql":
            for table in Base.metadata.sorted_tables:
                column = table.columns.get("id")
                if (column is not None and column.autoincrement in (True, "auto")
                        and column.type.python_type is int):  # not web_sessions' text id
                    writing.execute(text(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"GREATEST((SELECT MAX(id) FROM {table.name}), 1))"))
    return copied
