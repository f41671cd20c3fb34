"""Interrupting `kenning index` (Ctrl-C or kill -9) loses nothing; the next run resumes."""

from __future__ import annotations

import json
import shutil
import signal
import sqlite3
import time

import pytest
from conftest import IMAGENET
from PIL import Image


@pytest.fixture(autouse=True)
def objects_only(kenning):
    """These tests are about scanning and the objects classifier."""
    kenning.env["KENNING_CLASSIFIERS"] = "objects"



def done_count(db_path) -> int:
    try:
        with sqlite3.connect(db_path, timeout=30) as conn:
            query = "SELECT count(*) FROM work_items WHERE state = 'done'"
            return conn.execute(query).fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


def wait_for_some_done(db_path, proc, timeout=120) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"index finished before it could be interrupted: {proc.stderr.read()}")
        if (count := done_count(db_path)) >= 8:
            return count
        time.sleep(0.05)
    pytest.fail("no batch finished in time")


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "library"
    root.mkdir()
    for photo in sorted(IMAGENET.glob("*.JPEG")):
        shutil.copy(photo, root / photo.name)
    return root


@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGKILL])
def test_interrupted_index_resumes_where_it_stopped(kenning, library, how):
    db_path = kenning.data_dir / "kenning.db"
    proc = kenning.popen("index", library, "--workers", "1", "--batch-size", "4")
    wait_for_some_done(db_path, proc)
    proc.send_signal(how)
    code = proc.wait(timeout=60)
    saved = done_count(db_path)
    said = proc.stderr.read().decode(errors="replace")
    assert code == (130 if how == signal.SIGINT else -signal.SIGKILL), (code, saved, said)
    if how == signal.SIGINT:
        assert "resume" in said
    assert 0 < saved < 100

    report = kenning("index", library, "--json").json()
    assert report["processed"] == {"objects": 100 - saved}
    assert report["failed"] == []
    status = kenning("status", "--json").json()
    assert status["classifiers"] == [{"classifier": "objects", "pending": 0, "done": 100,
                                      "failed": 0}]
    with sqlite3.connect(db_path) as conn:
        untagged = conn.execute("SELECT count(*) FROM files WHERE id NOT IN "
                                "(SELECT file_id FROM file_labels)").fetchone()[0]
    assert untagged == 0


PHOTOS = 60


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_two_index_runs_of_one_folder_do_each_file_once(kenning, tmp_path, database, request):
    """A second `kenning index` of a folder being indexed waits for the first, says so,
    and does none of its files again."""
    if database == "postgresql":
        kenning.env["KENNING_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    library = tmp_path / "photos"
    library.mkdir()
    for n, source in enumerate(sorted(IMAGENET.glob("*.JPEG"))[:PHOTOS]):  # 12 MP
        Image.open(source).resize((4000, 3000)).save(library / f"{n:02}.jpg", quality=88)
    kenning.env["KENNING_CLASSIFIERS"] = "places"
    kenning("index", library, "--json")  # (the folder is scanned once)
    kenning.env["KENNING_CLASSIFIERS"] = "objects,faces"
    first = kenning.popen("index", library, "--json")
    while first.poll() is None and _faces_done(kenning) < 5:  # until it is under way
        time.sleep(0.02)
    second = kenning.popen("index", library, "--json")
    outs = [p.communicate(timeout=300) for p in (first, second)]
    assert [p.returncode for p in (first, second)] == [0, 0], outs
    runs = [json.loads(out) for out, _err in outs]
    done = [r["processed"].get("faces", 0) for r in runs]
    assert sum(done) == PHOTOS and done[0] > 0 and runs[1]["processed"] == {}, runs
    assert "waiting" in outs[1][1].decode(), outs


def _faces_done(kenning) -> int:
    """Files the faces classifier has done, read from the database directly (quick)."""
    url = kenning.env.get("KENNING_DATABASE_URL")
    query = "SELECT count(*) FROM work_items WHERE classifier = 'faces' AND state = 'done'"
    if url:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            return conn.execute(query).fetchone()[0]
    with sqlite3.connect(kenning.data_dir / "kenning.db", timeout=30) as conn:
        try:
            return conn.execute(query).fetchone()[0]
        except sqlite3.OperationalError:  # (no table yet)
            return 0
