"""Bad files are recorded as failed with a clear reason; the run goes on and loses nothing."""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import IMAGENET, in_unprivileged_child
from media_factory import png_bomb, save_photo

from kenning.classifiers.base import MediaFile
from kenning.classifiers.objects import ObjectsClassifier
from kenning.config import load_settings
from kenning.db import Database
from kenning.media.sniff import MediaKind
from kenning.pipeline.executors import LocalExecutor
from kenning.pipeline.indexer import ensure_mount
from kenning.pipeline.jobs import pending_batches, sync_work
from kenning.pipeline.scanner import scan_mount

GOOD = IMAGENET / "n01530575_brambling.JPEG"
OTHER = IMAGENET / "n01443537_goldfish.JPEG"


@pytest.fixture(autouse=True)
def objects_only(kenning):
    """These tests are about scanning and the objects classifier."""
    kenning.env["KENNING_CLASSIFIERS"] = "objects"



def make_bad_corpus(root) -> dict[str, str]:
    """Bad files -> a word their failure reason must contain."""
    data = GOOD.read_bytes()
    (root / "corrupt.jpg").write_bytes(data[:200] + os.urandom(20_000))
    (root / "truncated.jpg").write_bytes(data[: len(data) * 2 // 5])
    (root / "empty.jpg").write_bytes(b"")
    (root / "notes.jpg").write_text("Dear diary, this is not a photo.\n")
    png_bomb(root / "bomb.png")
    os.symlink(root / "gone.jpg", root / "broken link.jpg")
    return {"corrupt.jpg": "corrupt", "truncated.jpg": "truncated", "empty.jpg": "empty",
            "notes.jpg": "text", "bomb.png": "too large", "broken link.jpg": "broken"}


def make_odd_but_good(root) -> list[bytes]:
    """Files that look odd but are fine photos and must be tagged."""
    shutil.copy(OTHER, os.fsencode(root) + b"/f\xf6to latin-1.jpg")
    shutil.copy(OTHER, root / "line\nbreak.jpg")
    save_photo(OTHER, root / "actually a png.jpg", "PNG")
    return [b"f\xf6to latin-1.jpg", b"line\nbreak.jpg", b"actually a png.jpg"]


def test_bad_files_fail_clearly_and_nothing_is_lost(kenning, tmp_path):
    library = tmp_path / "library"
    (library / "good").mkdir(parents=True)
    shutil.copy(GOOD, library / "good" / "bird.jpg")
    kenning("index", library)
    before = kenning("tags", library / "good" / "bird.jpg", "--json").json()["tags"]
    assert before

    bad = make_bad_corpus(library)
    odd = make_odd_but_good(library)
    run = kenning("index", library, "--json")
    report = run.json()
    assert run.code == 0
    assert f"{len(bad)} warning(s)" in run.stderr
    failed = {f["path"]: f["reason"] for f in report["failed"]}
    assert set(failed) == set(bad), failed
    for name, word in bad.items():
        assert word in failed[name].lower(), (name, failed[name])
    # (odd names of the same bytes: one is processed, the others take its results)
    assert report["processed"]["objects"] + report["copied"].get("objects", 0) == len(odd)

    assert kenning("tags", library / "good" / "bird.jpg", "--json").json()["tags"] == before
    for raw in odd:
        tags = kenning("tags", os.fsdecode(os.fsencode(library) + b"/" + raw), "--json").json()
        assert "Fish" in {t["tag"] for t in tags["tags"]}, raw

    listed = kenning("status", "--failed", "--json").json()["failed_files"]
    assert {os.path.basename(f["path"]) for f in listed} == set(bad)
    assert kenning("status", "--failed").stdout.count("\n") >= len(bad)
    # A second run keeps the failures without retrying them and without new warnings.
    again = kenning("index", library, "--json").json()
    assert again["processed"] == {} and len(again["failed"]) == len(bad)


def _scan_unreadable(work: str) -> dict:
    library = os.path.join(work, "library")
    os.makedirs(library)
    shutil.copy(GOOD, os.path.join(library, "ok.jpg"))
    shutil.copy(GOOD, os.path.join(library, "locked.jpg"))
    os.chmod(os.path.join(library, "locked.jpg"), 0)
    db = Database("sqlite:///" + os.path.join(work, "k.db"))
    mount = ensure_mount(db, "local", library)
    scan_mount(db, mount.id, mount.path)
    from kenning import catalog

    return {f["path"].rsplit("/", 1)[1]: f["reason"] for f in catalog.failed_files(db, "local")}


def test_unreadable_file_is_recorded_with_its_reason(unprivileged_dir, tmp_path):
    Database(f"sqlite:///{tmp_path / 'warm.db'}")  # load SQLite before dropping privileges
    failed = in_unprivileged_child(_scan_unreadable, str(unprivileged_dir))
    assert list(failed) == ["locked.jpg"]
    assert "permission denied" in failed["locked.jpg"].lower()


def _classify_unreadable(classifier: ObjectsClassifier, work: str) -> dict:
    path = os.path.join(work, "locked.jpg")
    shutil.copy(GOOD, path)
    os.chmod(path, 0)
    return classifier.classify([MediaFile(7, path, MediaKind.IMAGE, "jpeg")]).failures


def test_file_made_unreadable_after_the_scan_fails_alone(unprivileged_dir):
    classifier = ObjectsClassifier()
    classifier.session  # load the model before dropping privileges  # noqa: B018
    failures = in_unprivileged_child(_classify_unreadable, classifier, str(unprivileged_dir))
    assert "permission denied" in failures["7"].lower()


def test_file_deleted_between_scan_and_classification(tmp_path):
    library = tmp_path / "library"
    library.mkdir()
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        shutil.copy(GOOD, library / name)
    settings = load_settings(tmp_path / "data")
    db = Database(settings.db_url)
    mount = ensure_mount(db, "local", library)
    scan_mount(db, mount.id, mount.path)
    classifier = ObjectsClassifier()
    sync_work(db, classifier, [mount.id])
    (library / "b.jpg").unlink()
    outcomes = []
    LocalExecutor(db, {"objects": classifier}, workers=2).run(
        pending_batches(db, "objects", [mount.id], 8), lambda b, o: outcomes.append(o))
    (outcome,) = outcomes
    assert len(outcome.results) == 2
    assert list(outcome.failures.values()) == ["file disappeared since the scan"]


@pytest.mark.parametrize("content", [b"\xff\xd8\xff\xe0" + b"\0" * 100, b"\x89PNG\r\n\x1a\n"])
def test_headers_without_pictures(tmp_path, content):
    path = tmp_path / "x.jpg"
    path.write_bytes(content)
    failures = ObjectsClassifier().classify([MediaFile(1, path, MediaKind.IMAGE, "jpeg")]).failures
    assert failures[1].startswith(("corrupt", "not a decodable", "truncated"))


def test_a_full_disk_ends_the_run_clearly_and_fails_no_file(tmp_path):
    """The disk holding the library's database fills up mid-run (a real tmpfs of 2 MB):
    the run ends with one line, no traceback, and no file is recorded as failed for it
    (before, the batch it hit was: "could not store the results: database or disk is
    full"). With room again, the same command does the rest."""
    import sqlite3
    import subprocess

    from conftest import KenningCli

    disk = tmp_path / "small disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2M", "tmpfs", disk],
                             capture_output=True, text=True)
    assert mounted.returncode == 0, f"this test mounts a tmpfs as root: {mounted.stderr}"
    try:
        cli = KenningCli(disk / "data")
        cli.env["KENNING_CLASSIFIERS"] = "objects"
        library = tmp_path / "library"
        library.mkdir()
        photos = sorted(IMAGENET.glob("*.JPEG"))
        for photo in photos:
            shutil.copyfile(photo, library / photo.name)
        run = cli("index", library, check=False)
        assert run.code == 1, run.stderr
        assert "kenning: error: the database cannot be written (database or disk is full)" \
            in run.stderr, run.stderr
        assert "Traceback" not in run.stderr

        def states() -> dict[str, int]:
            with sqlite3.connect(f"file:{disk / 'data' / 'kenning.db'}?mode=ro",
                                 uri=True) as db:
                return dict(db.execute("SELECT state, count(*) FROM work_items "
                                       "GROUP BY state").fetchall())

        before = states()
        assert set(before) == {"done", "pending"}, before  # none failed
        subprocess.run(["mount", "-o", "remount,size=40M", disk], check=True)
        again = cli("index", library, "--json").json()
        assert again["processed"] == {"objects": before["pending"]}
        assert again["failed_this_run"] == 0
        assert states() == {"done": len(photos)}
    finally:
        subprocess.run(["umount", "--lazy", disk], check=False)
