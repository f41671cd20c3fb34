"""Small parts of the scale-out: worker path maps, yes/no settings, the order of stages."""

from __future__ import annotations

import pytest

from kenning.config import ConfigError, load_settings
from kenning.pipeline.jobs import even_chunks, map_path


def test_path_map_rewrites_only_whole_leading_folders():
    pairs = [("/srv/photos", "/mnt/nas/photos"), ("/home/ann", "/data/ann/")]
    assert map_path("/srv/photos", pairs) == "/mnt/nas/photos"
    assert map_path("/srv/photos/2024/trip", pairs) == "/mnt/nas/photos/2024/trip"
    assert map_path("/srv/photos-old", pairs) == "/srv/photos-old"  # not a sub-folder
    assert map_path("/home/ann/Pictures", pairs) == "/data/ann/Pictures"
    assert map_path("/elsewhere", pairs) == "/elsewhere"
    assert map_path("/srv/photos", []) == "/srv/photos"


@pytest.mark.parametrize(("text", "value"), [("true", True), ("0", False), ("No", False),
                                             ("on", True)])
def test_yes_no_settings(monkeypatch, tmp_path, text, value):
    monkeypatch.setenv("KENNING_ISOLATE_DECODING", text)
    assert load_settings(tmp_path).isolate_decoding is value


def test_bad_settings_are_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("KENNING_ISOLATE_DECODING", "perhaps")
    with pytest.raises(ConfigError, match="not a valid boolean"):
        load_settings(tmp_path)
    monkeypatch.delenv("KENNING_ISOLATE_DECODING")
    monkeypatch.setenv("KENNING_CLAIM_TIMEOUT", "0")
    with pytest.raises(ConfigError, match="at least 1"):
        load_settings(tmp_path)
    monkeypatch.setenv("KENNING_CLAIM_TIMEOUT", "10")
    monkeypatch.setenv("KENNING_LANDMARK_THRESHOLD", "1.5")
    with pytest.raises(ConfigError, match="score"):
        load_settings(tmp_path)


def test_the_independent_classifiers_are_one_stage(tmp_path):
    """Every classifier that needs only the file runs in one stage (in process and on
    `kenning worker`s alike: no thread or worker waits idle between them); classifiers
    gated on tags (landmarks) come after all of them."""
    from kenning.classifiers.faces import FacesClassifier
    from kenning.classifiers.landmarks import LandmarksClassifier
    from kenning.classifiers.music import MusicClassifier
    from kenning.classifiers.objects import ObjectsClassifier
    from kenning.models.optional import InstalledModel
    from kenning.pipeline.indexer import stages

    model = tmp_path / "landmarks.tflite"
    model.write_bytes(b"not loaded by this test")
    landmarks = LandmarksClassifier(InstalledModel("landmarks", model, "0" * 64, None))
    free = [ObjectsClassifier(), FacesClassifier(), MusicClassifier()]
    classifiers = [landmarks, *free]  # the gated one first: stages() must move it last
    assert [[c.name for c in stage] for stage in stages(classifiers)] == [
        ["objects", "faces", "music"], ["landmarks"]]
    assert stages(free) == [free]


def test_tag_ids_are_remembered_only_once_committed(tmp_path):
    """A worker looks tag ids up once; an id from a transaction that rolled back is never
    remembered (it would name no tag)."""
    from sqlalchemy import event, select

    from kenning.db import Database, Tag
    from kenning.pipeline.jobs import tag_ids

    db = Database(f"sqlite:///{tmp_path / 'k.db'}")
    with pytest.raises(RuntimeError), db.session() as session:
        tag_ids(db, session, {"Kayak"})
        raise RuntimeError("the batch failed")
    assert db.tag_ids == {}
    with db.session() as session:
        made = tag_ids(db, session, {"Kayak", "Boat"})
    assert db.tag_ids == made
    with db.session() as session:
        assert dict(session.execute(select(Tag.name, Tag.id)).all()) == made
    statements = []
    event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    with db.session() as session:
        assert tag_ids(db, session, {"Boat"}) == {"Boat": made["Boat"]}
    assert statements == []  # known: no statement needed


def test_batches_are_cut_so_that_the_workers_end_together():
    assert [len(c) for c in even_chunks(list(range(20)), 8, 2)] == [5, 5, 5, 5]
    assert [len(c) for c in even_chunks(list(range(16)), 8, 2)] == [8, 8]
    assert [len(c) for c in even_chunks(list(range(3)), 8, 4)] == [1, 1, 1]
    assert even_chunks([], 8, 2) == []
    cut = even_chunks(list(range(1003)), 8, 2)
    assert len(cut) % 2 == 0 and max(map(len, cut)) <= 8
    assert [i for chunk in cut for i in chunk] == list(range(1003))  # all, in order, once


def test_copies_held_back_leave_even_batches(tmp_path):
    """Of 12 photos, 4 are copies of others: they wait for their twin's results, and the 8
    photos processed are cut into even batches (2 workers: 4 of 2, not batches cut for 12
    with holes where the copies were)."""
    import dataclasses
    import shutil

    from conftest import IMAGENET

    from kenning.classifiers.faces import FacesClassifier
    from kenning.classifiers.objects import ObjectsClassifier
    from kenning.db import Database
    from kenning.pipeline.executors import LocalExecutor
    from kenning.pipeline.indexer import ensure_mount, stage_batches
    from kenning.pipeline.jobs import sync_work
    from kenning.pipeline.scanner import scan_mount

    library = tmp_path / "library"
    library.mkdir()
    photos = sorted(IMAGENET.glob("*.JPEG"))[:8]
    for i, photo in enumerate(photos):
        shutil.copyfile(photo, library / f"{i:02d}.jpg")
    for i, photo in enumerate(photos[:4]):
        shutil.copyfile(photo, library / f"{i:02d}-copy.jpg")  # sorted beside its twin
    db = Database(f"sqlite:///{tmp_path / 'k.db'}")
    mount = ensure_mount(db, "ann", library)
    scan_mount(db, mount.id, str(library))
    stage = [ObjectsClassifier(), FacesClassifier()]
    for classifier in stage:
        sync_work(db, classifier, [mount.id])
    settings = dataclasses.replace(load_settings(tmp_path), batch_size=2)
    executor = LocalExecutor(db, {c.name: c for c in stage}, 2)
    batches = stage_batches(db, stage, mount.id, settings, executor)
    assert [len(b.file_ids) for b in batches] == [2, 2, 2, 2]
    assert all(b.classifiers == ("objects", "faces") for b in batches)
    everything = stage_batches(db, stage, mount.id, settings, executor, hold_back=False)
    assert sum(len(b.file_ids) for b in everything) == 12
