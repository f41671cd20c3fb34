"""`kenning db backup`: the whole library in one SQLite file, taken while Kenning writes,
and what a user does with it (open it, copy it back, move it into a new PostgreSQL
database). Real `kenning` commands on real photos, SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
import sqlite3
import time

from conftest import DEV, IMAGENET, KenningCli
from PIL import Image

JOHNS = DEV / "faces" / "dlib_johns" / "examples" / "johns"


def _people_library(kenning: KenningCli, tmp_path) -> list[dict]:
    """Two Johns indexed for faces, one of them named Ann: the people list."""
    library = tmp_path / "library"
    for person in sorted(JOHNS.iterdir())[:2]:
        shutil.copytree(person, library / person.name)
    kenning.env["KENNING_CLASSIFIERS"] = "faces"
    kenning("index", library)
    first = kenning("people", "--json").json()[0]
    kenning("people", "name", str(first["id"]), "Ann")
    return _people(kenning)


def _people(cli: KenningCli) -> list[tuple]:
    return sorted((p["name"] or "", p["faces"], p["photos"]) for p in
                  cli("people", "--json").json())


def _whole(path) -> None:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as copy:
        assert copy.execute("PRAGMA quick_check").fetchone()[0] == "ok"
        assert copy.execute("PRAGMA foreign_key_check").fetchall() == []
        assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


def test_a_backup_taken_while_indexing_is_whole_and_restores(kenning, tmp_path):
    people = _people_library(kenning, tmp_path)
    assert ("Ann", 11, 11) in people
    more = tmp_path / "more"  # a second run writing while the backup is taken
    more.mkdir()
    for source in sorted(IMAGENET.glob("*.JPEG"))[:40]:
        Image.open(source).resize((1600, 1200)).save(more / source.name, quality=90)
    kenning.env["KENNING_CLASSIFIERS"] = "objects"
    index = kenning.popen("index", more, "--batch-size", "2")
    database = kenning.data_dir / "kenning.db"
    end = time.monotonic() + 120
    while time.monotonic() < end and index.poll() is None:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as live:
            if live.execute("SELECT count(*) FROM work_items WHERE classifier = 'objects' "
                            "AND state = 'done'").fetchone()[0] >= 2:
                break
        time.sleep(0.05)
    made = kenning("db", "backup", tmp_path / "backup.db", "--json").json()
    assert index.poll() is None, "the run ended before the backup was taken"
    assert index.wait(300) == 0
    assert made["named_people"] == 1 and made["faces"] >= 22 and made["files"] > 22
    backup = tmp_path / "backup.db"
    _whole(backup)
    assert not list(tmp_path.glob(".backup.db.part*"))
    # Opened as a library: the same people and names, the done work kept.
    reader = KenningCli(tmp_path / "reader")
    reader.env["KENNING_DATABASE_URL"] = f"sqlite:///{backup}"
    assert _people(reader) == people
    # Copied back over the library after a mistake (Ann renamed by accident).
    kenning("people", "name", "Ann", "Zed")
    for leftover in ("kenning.db-wal", "kenning.db-shm"):
        (kenning.data_dir / leftover).unlink(missing_ok=True)
    shutil.copyfile(backup, database)
    assert _people(kenning) == people
    rerun = kenning("index", more, "--json").json()  # the rest of the files, once
    assert 0 < rerun["processed"]["objects"] < 40


def test_a_postgresql_library_backs_up_to_a_file_and_moves_back(kenning, tmp_path,
                                                                postgres_url):
    from conftest import _postgres_database

    kenning.env["KENNING_DATABASE_URL"] = postgres_url
    people = _people_library(kenning, tmp_path)
    made = kenning("db", "backup", tmp_path / "pg.db", "--json").json()
    assert made["named_people"] == 1
    _whole(tmp_path / "pg.db")
    assert not list(tmp_path.glob(".pg.db.part*"))
    restored = next(fresh := _postgres_database())
    try:
        mover = KenningCli(tmp_path / "mover")
        mover.env["KENNING_DATABASE_URL"] = f"sqlite:///{tmp_path / 'pg.db'}"
        mover("db", "migrate", "--to", restored)
        kenning.env["KENNING_DATABASE_URL"] = restored
        assert _people(kenning) == people
    finally:
        next(fresh, None)


def test_a_backup_never_overwrites_and_leaves_nothing_half_made(kenning, tmp_path):
    kenning.env["KENNING_CLASSIFIERS"] = "objects"
    library = tmp_path / "library"
    library.mkdir()
    shutil.copyfile(IMAGENET / "n01530575_brambling.JPEG", library / "bird.jpg")
    kenning("index", library)
    (tmp_path / "taken.db").write_bytes(b"my thesis")
    for target, why in ((tmp_path / "taken.db", "exists"),
                        (tmp_path / "no such folder" / "b.db", "no such folder"),
                        (kenning.data_dir / "kenning.db", "exists")):
        run = kenning("db", "backup", target, check=False)
        assert run.code == 1 and why in run.stderr and "Traceback" not in run.stderr, run
    assert (tmp_path / "taken.db").read_bytes() == b"my thesis"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "library", "taken.db"]
