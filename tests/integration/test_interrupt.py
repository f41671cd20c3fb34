"""Interrupting `kenning index` (Ctrl-C or kill -9) loses nothing; the next run resumes."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import time

import pytest
from conftest import IMAGENET


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
