"""The same schema and job model on PostgreSQL (the scale-out database), via the real server."""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import IMAGENET


@pytest.fixture(autouse=True)
def objects_only(kenning):
    """These tests are about scanning and the objects classifier."""
    kenning.env["KENNING_CLASSIFIERS"] = "objects"


def test_index_search_and_rename_on_postgresql(kenning, tmp_path, postgres_url):
    library = tmp_path / "library"
    library.mkdir()
    for name in ("n01530575_brambling.JPEG", "n01443537_goldfish.JPEG",
                 "n01818515_macaw.JPEG"):
        shutil.copy(IMAGENET / name, library / name)
    kenning.env["KENNING_DATABASE_URL"] = postgres_url
    report = kenning("index", library, "--json").json()
    assert report["processed"] == {"objects": 3}
    assert not (kenning.data_dir / "kenning.db").exists()
    birds = kenning("search", "Bird", "--json").json()["files"]
    assert sorted(os.path.basename(p) for p in birds) == ["n01530575_brambling.JPEG",
                                                          "n01818515_macaw.JPEG"]
    os.rename(library / "n01818515_macaw.JPEG", library / "parrot.jpg")
    again = kenning("index", library, "--json").json()
    assert again["changes"]["moved"] == 1 and again["processed"] == {}
    assert "Parrot" in {t["tag"] for t in kenning("tags", library / "parrot.jpg",
                                                  "--json").json()["tags"]}


def test_people_on_postgresql_as_on_sqlite(kenning, tmp_path, postgres_url):
    """The people list, the status and a file's findings (plain SQL on the driver's
    cursor, catalog/people_sql.py, status_sql.py and files_sql.py) answer the same on
    PostgreSQL as on SQLite, where `kenning people`, `status` and `tags` read them without
    SQLAlchemy."""
    from conftest import DEV

    library = tmp_path / "library"
    for person in sorted((DEV / "faces" / "dlib_johns" / "examples" / "johns").iterdir())[:2]:
        shutil.copytree(person, library / person.name)
    kenning.env["KENNING_CLASSIFIERS"] = "faces"
    kenning("index", library)
    on_sqlite = kenning("people", "--json").json()
    status_on_sqlite = kenning("status", "--json").json()
    photos = sorted(library.rglob("*.jpg"))[:3]

    def findings() -> list[dict]:
        found = kenning("tags", *photos, "--json").json()
        for data in found:
            for face in data["faces"]:
                del face["face"], face["person"]  # ids of the two databases
        return found

    tags_on_sqlite = findings()
    missing = kenning("tags", tmp_path / "elsewhere.jpg", check=False)
    assert missing.code == 1 and "not in the library" in missing.stderr
    kenning.env["KENNING_DATABASE_URL"] = postgres_url
    kenning("index", library)
    on_postgresql = kenning("people", "--json").json()
    status = kenning("status", "--json").json()
    assert findings() == tags_on_sqlite
    assert all(data["faces"] and data["classifiers"] for data in tags_on_sqlite)
    missing = kenning("tags", tmp_path / "elsewhere.jpg", check=False)
    assert missing.code == 1 and "not in the library" in missing.stderr
    assert status["files"] == status_on_sqlite["files"] == {"image": 22}
    assert status["classifiers"] == status_on_sqlite["classifiers"]
    assert status["mounts"][0]["scanned_at"].endswith("+00:00")
    assert len(on_sqlite) == 2
    assert [{k: p[k] for k in ("name", "faces", "photos", "sample")} for p in on_postgresql] \
        == [{k: p[k] for k in ("name", "faces", "photos", "sample")} for p in on_sqlite]


def test_a_database_gone_mid_run_ends_it_clearly_and_the_same_command_resumes(
        kenning, tmp_path, postgres_url):
    """The database stops taking connections while `kenning index` runs. Back within
    3 s (a server restarted), the run goes on; gone for good, the run ends once its
    retries are spent, with one clear line and no traceback, and the same command later
    finishes the rest, nothing done twice."""
    import time

    import psycopg
    from conftest import POSTGRES_ADMIN
    from PIL import Image

    library = tmp_path / "library"
    library.mkdir()
    for source in sorted(IMAGENET.glob("*.JPEG"))[:60]:  # big, so the run takes a while
        Image.open(source).resize((1600, 1200)).save(library / source.name, quality=90)
    kenning.env["KENNING_DATABASE_URL"] = postgres_url
    name = postgres_url.rsplit("/", 1)[1]
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")

    def done() -> int:
        with psycopg.connect(plain) as conn:
            return conn.execute("SELECT count(*) FROM work_items WHERE state = 'done'"
                                ).fetchone()[0]

    def wait_until_done(count: int) -> int:
        end = time.monotonic() + 120
        while time.monotonic() < end and index.poll() is None:
            try:
                if (now := done()) >= count:
                    return now
            except psycopg.errors.UndefinedTable:
                pass  # (the schema is not made yet)
            time.sleep(0.05)
        raise AssertionError(f"{count} files were not done while the run went on")

    def cut(admin) -> None:
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                      "WHERE datname = %s", (name,))

    index = kenning.popen("index", library, "--batch-size", "2", "--workers", "1")
    with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
        first = wait_until_done(2)
        cut(admin)
        time.sleep(3)
        admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        wait_until_done(first + 2)
        cut(admin)
        try:
            _out, errors = index.communicate(timeout=120)
        finally:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    assert index.returncode == 1, errors
    assert b"kenning: error: the database is not answering (" in errors, errors
    assert b"Traceback" not in errors
    before = done()
    assert 4 <= before < 60, "the run ended before the database went away"
    again = kenning("index", library, "--json").json()
    assert again["processed"] == {"objects": 60 - before}
    assert done() == 60


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_the_servers_processing_goes_on_once_the_database_is_back(tmp_path, postgres_url,
                                                                  monkeypatch, caplog):
    """The server's own processing (in process, as `kenning serve` runs it) when the
    database stays away past a run's retries: one warning, the mount asked for again
    (after DATABASE_RETRY_SECONDS, here 1 s), and once the database is back every file is
    done, none failed, with no change to the folder or rescan needed. No thread of it
    dies meanwhile (before, the sidecar keeper's did, the watcher's when it read the
    folders to watch, and the processing's own at a periodic re-scan)."""
    import logging
    import time

    import psycopg
    from conftest import POSTGRES_ADMIN
    from PIL import Image

    from kenning.config import load_settings
    from kenning.db import Database
    from kenning.pipeline.indexer import ensure_mount
    from kenning.server import background

    library = tmp_path / "library"
    library.mkdir()
    for source in sorted(IMAGENET.glob("*.JPEG"))[:30]:
        Image.open(source).resize((1600, 1200)).save(library / source.name, quality=90)
    settings = load_settings(tmp_path / "data", classifiers=["objects"],
                             database_url=postgres_url, batch_size=2, workers=1)
    db = Database(postgres_url)
    mount = ensure_mount(db, "local", library)
    monkeypatch.setattr(background, "DATABASE_RETRY_SECONDS", 1.0)
    name = postgres_url.rsplit("/", 1)[1]
    plain = postgres_url.replace("postgresql+psycopg://", "postgresql://")

    def states() -> dict[str, int]:
        with psycopg.connect(plain) as conn:
            return dict(conn.execute("SELECT state, count(*) FROM work_items "
                                     "GROUP BY state").fetchall())

    # (A re-scan every 0.5 s: the periodic one falls in the outage too.)
    processor = background.Processor(settings, db, rescan_seconds=0.5, watch=True)
    caplog.set_level(logging.WARNING, logger="kenning")
    processor.start()
    try:
        end = time.monotonic() + 120
        while states().get("done", 0) < 2 and time.monotonic() < end:
            time.sleep(0.05)
        with psycopg.connect(POSTGRES_ADMIN, autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            try:
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = %s", (name,))
                processor.watch_mounts()  # (a folder added meanwhile: the watcher reads)
                end = time.monotonic() + 60
                while time.monotonic() < end and not any(
                        "stopped, the database is not answering" in r.getMessage()
                        for r in caplog.records if r.name == "kenning.server"):
                    time.sleep(0.2)
                time.sleep(2)  # (asked for again meanwhile, and re-scanned: both fail)
            finally:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
        said = [r.getMessage() for r in caplog.records if r.name == "kenning.server"]
        assert any(f"processing mount {mount.id} stopped" in m for m in said), said
        assert any("watching mounts: the database is not answering" in m for m in said)
        assert any("the periodic re-scan waits" in m for m in said), said
        end = time.monotonic() + 120
        while states() != {"done": 30} and time.monotonic() < end:
            time.sleep(0.2)
        assert states() == {"done": 30}
        assert not [r for r in caplog.records if r.exc_info], "a traceback was logged"
    finally:
        processor.stop()
        db.dispose()
