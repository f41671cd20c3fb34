"""Tags from faces: searching "people", "portrait" or "group" finds the photos with
people, a portrait is not "Clothing", and the tags follow the user's corrections. Real
models on real photos, through `kenning index`."""

from __future__ import annotations

import shutil
import sqlite3

import pytest
from conftest import DEV, IMAGENET

from kenning.faces.people_tags import WORN

LFW = DEV / "faces" / "lfw_view1" / "images"
GROUP = DEV / "faces" / "dlib_johns" / "examples" / "faces" / "bald_guys.jpg"
PORTRAITS = 30  # LFW photos: a person each, some with others behind them


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    from conftest import KenningCli

    root = tmp_path_factory.mktemp("people-tags")
    library = root / "photos"
    library.mkdir()
    for n, path in enumerate(sorted(LFW.rglob("*.jpg"))[::97][:PORTRAITS]):
        shutil.copyfile(path, library / f"portrait{n}.jpg")
    shutil.copyfile(GROUP, library / "group.jpg")
    shutil.copyfile(IMAGENET / "n01443537_goldfish.JPEG", library / "fish.jpg")
    kenning = KenningCli(root / "data")
    kenning.env["KENNING_CLASSIFIERS"] = "objects,faces"
    kenning("index", library)
    return kenning, library


def tags(kenning, path) -> set[str]:
    return {t["tag"] for t in kenning("tags", path, "--json").json()["tags"]}


def test_faces_give_people_portrait_and_group_tags(indexed):
    kenning, library = indexed
    portraits = 0
    for n in range(PORTRAITS):
        found = tags(kenning, library / f"portrait{n}.jpg")
        assert "People" in found, (n, found)
        assert not found & set(WORN), (n, found)  # a portrait, not a photo of clothes
        portraits += "Portrait" in found
    assert portraits >= 0.8 * PORTRAITS, portraits  # (others: two people or more)
    assert {"People", "Group"} <= tags(kenning, library / "group.jpg")
    assert not {"People", "Portrait", "Group"} & tags(kenning, library / "fish.jpg")
    for word, count in (("people", PORTRAITS + 1), ("portrait", portraits)):
        assert len(kenning("search", word, "--json").json()["files"]) == count, word


def test_people_tags_follow_corrections(indexed):
    kenning, library = indexed
    faces = kenning("tags", library / "group.jpg", "--json").json()["faces"]
    ids = [str(f["face"]) for f in faces]
    kenning("people", "notface", *ids)
    assert not {"People", "Group"} & tags(kenning, library / "group.jpg")
    kenning("people", "notface", "--undo", *ids)
    assert {"People", "Group"} <= tags(kenning, library / "group.jpg")


def test_people_tags_are_given_to_faces_found_before(indexed):
    """A library indexed before People tags existed gets them at its next index, with
    no model run again."""
    kenning, library = indexed
    with sqlite3.connect(kenning.data_dir / "kenning.db") as db:
        db.execute("DELETE FROM file_tags WHERE source = 'faces'")
        db.execute("DELETE FROM kenning_meta WHERE key = 'people_tags_revision'")
    assert "People" not in tags(kenning, library / "portrait0.jpg")
    run = kenning("index", library, "--json").json()
    assert run["processed"] == {}
    assert "People" in tags(kenning, library / "portrait0.jpg")
