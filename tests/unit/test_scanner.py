"""Scanning a mount: what is found, skipped, moved, changed and deleted."""

from __future__ import annotations

import os
import shutil
import time

import pytest
from conftest import IMAGENET, in_unprivileged_child
from sqlalchemy import select

from kenning.db import Database, File
from kenning.pipeline.indexer import ensure_mount
from kenning.pipeline.scanner import scan_mount

PHOTOS = sorted(IMAGENET.glob("*.JPEG"))


@pytest.fixture
def db(tmp_path) -> Database:
    return Database(f"sqlite:///{tmp_path / 'kenning.db'}")


@pytest.fixture
def library(tmp_path):
    root = tmp_path / "library"
    root.mkdir()
    return root


def put(root, rel: str, source=PHOTOS[0]):
    dest = root / rel
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(source, dest)
    return dest


def scan(db, root):
    mount = ensure_mount(db, "local", root)
    return scan_mount(db, mount.id, mount.path)


def stored(db) -> dict[str, File]:
    with db.session() as session:
        return {f.rel_path: f for f in session.scalars(select(File))}


def test_marker_files_and_hidden_folders_are_respected(db, library):
    put(library, "a.jpg")
    put(library, "skip/b.jpg")
    (library / "skip" / ".nomedia").touch()
    put(library, "noimg/c.jpg")
    put(library, "noimg/deeper/d.jpg")
    (library / "noimg" / ".noimage").touch()
    put(library, "novid/e.jpg")
    (library / "novid" / ".novideo").touch()
    put(library, ".thumbnails/f.jpg")
    put(library, ".hidden.jpg")
    scan(db, library)
    assert set(stored(db)) == {"a.jpg", "novid/e.jpg"}


def test_kind_comes_from_content_not_name(db, library):
    put(library, "really_a_photo.mp3")
    (library / "notes.txt").write_text("shopping list")
    (library / "fake.jpg").write_text("not a photo at all")
    (library / "empty.jpg").write_bytes(b"")
    report = scan(db, library)
    files = stored(db)
    assert files["really_a_photo.mp3"].kind == "image"
    assert "notes.txt" not in files
    assert files["fake.jpg"].kind is None and "text" in files["fake.jpg"].scan_error
    assert "empty" in files["empty.jpg"].scan_error
    assert report.by_kind["image"] == 1 and report.unusable == 2


def test_symlink_loops_and_links_out_of_the_mount_are_safe(db, library, tmp_path):
    put(library, "album/a.jpg")
    os.symlink("..", library / "album" / "loop")
    os.symlink(library / "album", library / "album-link")
    outside = put(tmp_path / "elsewhere", "secret.jpg", PHOTOS[1])
    os.symlink(outside, library / "outside.jpg")
    os.symlink(tmp_path / "elsewhere", library / "outside-dir")
    os.symlink(library / "album" / "a.jpg", library / "alias.jpg")
    os.symlink(library / "missing.jpg", library / "broken.jpg")
    report = scan(db, library)
    files = stored(db)
    assert set(files) == {"album/a.jpg", "alias.jpg", "broken.jpg"}
    assert "broken symbolic link" in files["broken.jpg"].scan_error
    assert report.problems.links_outside == [b"outside.jpg", b"outside-dir"] or \
        sorted(report.problems.links_outside) == [b"outside-dir", b"outside.jpg"]


def test_names_in_any_encoding_are_kept_exactly(db, library):
    raw = os.fsencode(library) + b"/caf\xe9 \xff.jpg"
    shutil.copy(PHOTOS[0], raw)
    put(library, "日本/写真 1.jpg")
    scan(db, library)
    with db.session() as session:
        rows = {f.rel_path_raw: f.rel_path for f in session.scalars(select(File))}
    assert rows[b"caf\xe9 \xff.jpg"] == "caf\\xe9 \\xff.jpg"
    assert rows["日本/写真 1.jpg".encode()] == "日本/写真 1.jpg"


def test_unchanged_rescan_touches_nothing(db, library):
    for i, photo in enumerate(PHOTOS[:20]):
        put(library, f"d{i % 3}/{i}.jpg", photo)
    first = scan(db, library)
    before = {p: (f.id, f.content_hash) for p, f in stored(db).items()}
    again = scan(db, library)
    assert first.new == 20
    assert (again.new, again.changed, again.moved, again.deleted) == (0, 0, 0, 0)
    assert {p: (f.id, f.content_hash) for p, f in stored(db).items()} == before


def test_moves_keep_the_file_id_changes_and_deletes_are_seen(db, library):
    put(library, "a.jpg", PHOTOS[0])
    put(library, "b.jpg", PHOTOS[1])
    put(library, "c.jpg", PHOTOS[2])
    scan(db, library)
    ids = {p: f.id for p, f in stored(db).items()}
    (library / "renamed").mkdir()
    os.rename(library / "a.jpg", library / "renamed" / "a2.jpg")
    shutil.copy(PHOTOS[3], library / "b.jpg")  # new content, same name
    os.utime(library / "b.jpg", ns=(time.time_ns(), time.time_ns() + 10**9))
    (library / "c.jpg").unlink()
    report = scan(db, library)
    files = stored(db)
    assert (report.moved, report.changed, report.deleted, report.new) == (1, 1, 1, 0)
    assert files["renamed/a2.jpg"].id == ids["a.jpg"]
    assert files["b.jpg"].id == ids["b.jpg"]
    assert "c.jpg" not in files


def test_touched_file_with_same_content_is_not_changed(db, library):
    put(library, "a.jpg")
    scan(db, library)
    os.utime(library / "a.jpg", ns=(time.time_ns(), time.time_ns() + 5 * 10**9))
    assert scan(db, library).changed == 0


def _scan_with_unreadable_folder(work: str, photo: str) -> dict:
    library = os.path.join(work, "library")
    os.makedirs(os.path.join(library, "private"))
    shutil.copy(photo, os.path.join(library, "private", "a.jpg"))
    shutil.copy(photo, os.path.join(library, "b.jpg"))
    db = Database("sqlite:///" + os.path.join(work, "k.db"))
    scan(db, library)
    os.chmod(os.path.join(library, "private"), 0)
    report = scan(db, library)
    os.chmod(os.path.join(library, "private"), 0o755)
    return {"unreadable": [p.decode() for p in report.problems.unreadable_dirs],
            "deleted": report.deleted, "kept": sorted(stored(db))}


def test_an_unreadable_folder_keeps_its_files(unprivileged_dir, db):  # db: loads SQLite first
    result = in_unprivileged_child(_scan_with_unreadable_folder, str(unprivileged_dir),
                                   str(PHOTOS[0]))
    assert result == {"unreadable": ["private"], "deleted": 0,
                      "kept": ["b.jpg", "private/a.jpg"]}


class StopAfterFirstChunk:
    """A progress display whose user presses Ctrl-C once the first chunk is stored."""

    def start(self, description, total):
        self.total = total

    def advance(self, files):
        raise KeyboardInterrupt

    def stop(self):
        pass


def test_an_interrupted_first_scan_keeps_the_chunks_it_stored(db, library, monkeypatch):
    import kenning.pipeline.scanner as scanner

    monkeypatch.setattr(scanner, "STORE_EVERY", 5)
    for i, photo in enumerate(PHOTOS[:12]):
        put(library, f"{i:02d}.jpg", photo)
    mount = ensure_mount(db, "local", library)
    with pytest.raises(KeyboardInterrupt):
        scan_mount(db, mount.id, mount.path, StopAfterFirstChunk())
    assert len(stored(db)) == 5
    report = scan_mount(db, mount.id, mount.path)
    assert (report.new, report.deleted) == (7, 0)
    assert len(stored(db)) == 12
