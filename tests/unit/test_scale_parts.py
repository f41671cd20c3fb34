"""Small parts of the scale-out: worker path maps, yes/no settings, the order of stages."""

from __future__ import annotations

import dataclasses

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


def test_workers_get_the_independent_classifiers_as_one_stage(tmp_path):
    """`kenning worker` processes run one batch at a time, so the coordinator sends every
    classifier that needs only the file at once; in-process threads run one after another.
    Classifiers gated on tags (landmarks) come after all of them in both."""
    from kenning.classifiers.faces import FacesClassifier
    from kenning.classifiers.landmarks import LandmarksClassifier
    from kenning.classifiers.music import MusicClassifier
    from kenning.classifiers.objects import ObjectsClassifier
    from kenning.db import Database
    from kenning.models.optional import InstalledModel
    from kenning.pipeline.distributed import CeleryExecutor
    from kenning.pipeline.executors import LocalExecutor
    from kenning.pipeline.indexer import stages

    model = tmp_path / "landmarks.tflite"
    model.write_bytes(b"not loaded by this test")
    landmarks = LandmarksClassifier(InstalledModel("landmarks", model, "0" * 64, None))
    free = [ObjectsClassifier(), FacesClassifier(), MusicClassifier()]
    classifiers = [landmarks, *free]  # the gated one first: stages() must move it last
    db = Database(f"sqlite:///{tmp_path / 'k.db'}")
    settings = dataclasses.replace(load_settings(tmp_path), broker_url="redis://127.0.0.1:6379/9")
    local = LocalExecutor(db, {c.name: c for c in classifiers}, 2)
    celery = CeleryExecutor(db, {c.name: c for c in classifiers}, settings)

    def names(executor):
        return [[c.name for c in stage] for stage in stages(classifiers, executor)]

    assert names(local) == [["objects", "faces", "music"], ["landmarks"]]
    assert names(celery) == [["objects", "faces", "music"], ["landmarks"]]
    assert stages(free, celery) == [free]


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
