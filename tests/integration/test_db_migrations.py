"""Schema versions with Alembic, and moving a library from SQLite into PostgreSQL."""

from __future__ import annotations

import shutil
import sqlite3

import psycopg
from alembic import command
from conftest import IMAGENET
from sqlalchemy import create_engine

from kenning.db.migrate import _config, head_revision


def test_a_library_made_before_alembic_is_adopted_and_upgraded(kenning, tmp_path):
    """A version-2 database (Kenning before this change) keeps its data and gains the
    new columns when Kenning opens it."""
    path = kenning.data_dir / "kenning.db"
    path.parent.mkdir(parents=True)
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as connection:
        command.upgrade(_config(connection), "0001")
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE alembic_version")
        db.execute("INSERT INTO kenning_meta VALUES ('schema_version', '2')")
        db.execute("INSERT INTO users (id, name, is_admin, created_at) "
                   "VALUES (1, 'local', 1, '2026-01-01')")
        db.execute("INSERT INTO people (id, user_id, name, hidden, created_at) "
                   "VALUES (1, 1, 'Grandma', 0, '2026-01-01')")
        db.execute("INSERT INTO mounts (id, user_id, path, created_at) "
                   "VALUES (1, 1, '/photos', '2026-01-01')")
    assert "Grandma" in kenning("people").stdout
    with sqlite3.connect(path) as db:  # tables rebuilt (ids never reused): rows kept
        assert db.execute("SELECT path FROM mounts").fetchall() == [("/photos",)]
        for table in ("users", "mounts", "people", "app_tokens"):
            sql = db.execute("SELECT sql FROM sqlite_master WHERE name = ?",
                             (table,)).fetchone()[0]
            assert "AUTOINCREMENT" in sql, table
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchone()[0] \
            == head_revision()
        columns = {row[1] for row in db.execute("PRAGMA table_info(work_items)")}
        assert {"claimed_by", "claimed_at"} <= columns
    assert "already at" in kenning("db", "upgrade").stdout


def test_postgresql_waits_for_kenning_db_upgrade(kenning, postgres_url):
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        command.upgrade(_config(connection), "0001")
    engine.dispose()
    kenning.env["KENNING_DATABASE_URL"] = postgres_url
    refused = kenning("people", check=False)
    assert refused.code == 1 and "run `kenning db upgrade`" in refused.stderr
    upgraded = kenning("db", "upgrade", "--json").json()
    assert (upgraded["from"], upgraded["to"]) == ("0001", head_revision())
    assert "password" not in upgraded["database"]
    assert kenning("people").code == 0


def test_migrate_sqlite_library_to_postgresql_without_reprocessing(kenning, tmp_path,
                                                                   postgres_url):
    library = tmp_path / "library"
    library.mkdir()
    for source in sorted(IMAGENET.glob("*.JPEG"))[:6]:
        shutil.copyfile(source, library / source.name)
    kenning.env["KENNING_CLASSIFIERS"] = "objects"
    kenning("index", library)
    before = {p.name: kenning("tags", p, "--json").json()["tags"] for p in library.iterdir()}

    moved = kenning("db", "migrate", "--to", postgres_url, "--json").json()
    assert moved["rows"]["files"] == 6 and moved["rows"]["work_items"] == 6
    again = kenning("db", "migrate", "--to", postgres_url, check=False)
    assert again.code == 1 and "not empty" in again.stderr

    kenning.env["KENNING_DATABASE_URL"] = postgres_url
    after = {p.name: kenning("tags", p, "--json").json()["tags"] for p in library.iterdir()}
    assert after == before
    (library / "new.jpg").write_bytes((IMAGENET / "n01530575_brambling.JPEG").read_bytes())
    summary = kenning("index", library, "--json").json()
    assert summary["processed"] == {"objects": 1}  # only the new file: nothing redone
    with psycopg.connect(postgres_url.replace("+psycopg", "")) as conn:  # ids moved on
        assert conn.execute("SELECT count(DISTINCT id) FROM files").fetchone()[0] == 7


def test_the_newest_revision_file_is_alembics_head():
    """Kenning checks a database against the newest migration file's revision without
    importing Alembic; that must be the head Alembic itself computes."""
    from kenning.revisions import newest_revision_file

    assert newest_revision_file() == head_revision()
