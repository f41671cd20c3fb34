"""`kenning index` and the other commands, run as a user would type them."""

from __future__ import annotations

import os
import shutil
import time

import pytest
from conftest import IMAGENET
from media_factory import save_photo

PHOTOS = {  # path in the library -> (dev photo, a tag it must get)
    "phone/brambling.jpg": ("n01530575_brambling.JPEG", "Bird"),
    "phone/goldfish.jpg": ("n01443537_goldfish.JPEG", "Fish"),
    "phone/turtle.jpg": ("n01669191_box_turtle.JPEG", "Turtle"),
    "2024 summer/tarantula.jpg": ("n01774750_tarantula.JPEG", "Spider"),
    "2024 summer/frog.jpg": ("n01644373_tree_frog.JPEG", "Frog"),
    "2024 summer/macaw.jpg": ("n01818515_macaw.JPEG", "Parrot"),
}


@pytest.fixture(autouse=True)
def objects_only(kenning):
    """These tests are about scanning and the objects classifier."""
    kenning.env["KENNING_CLASSIFIERS"] = "objects"



@pytest.fixture
def library(tmp_path):
    root = tmp_path / "Photos"
    for rel, (source, _) in PHOTOS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(IMAGENET / source, root / rel)
    save_photo(IMAGENET / "n01518878_ostrich.JPEG", root / "phone" / "IMG_0001.HEIC", "HEIF")
    save_photo(IMAGENET / "n01608432_kite.JPEG", root / "screens" / "kite.png", "PNG")
    return root


def test_index_tags_photos_and_a_rerun_does_no_model_work(kenning, library):
    first = kenning("index", library, "--json").json()
    assert first["files"]["image"] == 8
    assert first["changes"]["new"] == 8
    assert first["processed"] == {"objects": 8}
    assert first["failed"] == [] and first["warnings"] == 0
    assert {t["tag"] for t in first["top_tags"]} >= {"Animal", "Bird"}

    started = time.perf_counter()
    again = kenning("index", library, "--json").json()
    assert time.perf_counter() - started < 10
    assert again["processed"] == {}
    assert again["changes"] == {"new": 0, "changed": 0, "moved": 0, "deleted": 0}

    for rel, (_, tag) in PHOTOS.items():
        tags = kenning("tags", library / rel, "--json").json()
        assert tag in {t["tag"] for t in tags["tags"]}, (rel, tags)
        assert tags["labels"] and tags["labels"][0]["label"].startswith("n0")
    heic = kenning("tags", library / "phone" / "IMG_0001.HEIC", "--json").json()
    assert heic["format"] == "heif" and "Bird" in {t["tag"] for t in heic["tags"]}


def test_human_summary_shows_progress_counts_and_top_tags(kenning, library):
    run = kenning("index", library)
    assert "Indexed" in run.stdout and "8 image" in run.stdout
    assert "8 by objects" in run.stdout and "top tags:" in run.stdout
    assert "files/s" in run.stderr  # the progress bar


def test_renamed_file_keeps_its_tags_and_changes_are_redone(kenning, library):
    kenning("index", library)
    old = library / "phone" / "brambling.jpg"
    before = kenning("tags", old, "--json").json()["tags"]
    (library / "birds").mkdir()
    new = library / "birds" / "my bird.jpg"
    os.rename(old, new)
    shutil.copy(IMAGENET / "n01518878_ostrich.JPEG", library / "phone" / "goldfish.jpg")
    (library / "2024 summer" / "tarantula.jpg").unlink()
    report = kenning("index", library, "--json").json()
    assert report["changes"] == {"new": 0, "changed": 1, "moved": 1, "deleted": 1}
    assert report["processed"] == {"objects": 1}  # only the changed file
    assert kenning("tags", new, "--json").json()["tags"] == before
    changed = kenning("tags", library / "phone" / "goldfish.jpg", "--json").json()
    assert "Fish" not in {t["tag"] for t in changed["tags"]}
    assert "Bird" in {t["tag"] for t in changed["tags"]}
    assert kenning("tags", old, check=False).code == 1


def test_search_status_and_reset(kenning, library):
    kenning("index", library)
    birds = kenning("search", "bird", "--json").json()["files"]
    assert any(p.endswith("phone/brambling.jpg") for p in birds)
    assert all(p.startswith(str(library)) for p in birds)
    both = kenning("search", "Animal", "parrot", "--json").json()["files"]
    assert [os.path.basename(p) for p in both] == ["macaw.jpg"]
    assert kenning("search", "Bird", "Spider", "--json").json()["files"] == []
    assert kenning("search", "Unicorn", "--json").json()["files"] == []

    status = kenning("status", "--json").json()
    assert status["classifiers"] == [{"classifier": "objects", "pending": 0, "done": 8,
                                      "failed": 0}]
    assert status["mounts"][0]["path"] == str(library)

    reset = kenning("reset", "tags", "--json").json()
    assert reset["tags_removed"] > 8
    assert kenning("search", "Bird", "--json").json()["files"] == []
    assert kenning("status", "--json").json()["classifiers"][0]["pending"] == 8
    redo = kenning("index", library, "--json").json()
    assert redo["processed"] == {"objects": 8}
    assert kenning("search", "Bird", "--json").json()["files"] == birds


def test_bad_command_lines_give_one_line_and_exit_2(kenning, tmp_path):
    for args in (["index"], ["index", tmp_path / "missing"], ["index", "--frobnicate", tmp_path],
                 ["nonsense"], ["index", tmp_path, "--workers", "zero"]):
        run = kenning(*args, check=False)
        assert run.code == 2, (args, run)
        assert len(run.stderr.strip().splitlines()) == 1, (args, run.stderr)
        assert run.stderr.startswith("kenning: error:"), run.stderr
        assert "Traceback" not in run.stdout + run.stderr
    (tmp_path / "file.txt").write_text("x")
    assert kenning("index", tmp_path / "file.txt", check=False).code == 2


def test_data_dir_flag_and_config_file(kenning, library, tmp_path):
    other = tmp_path / "elsewhere"
    kenning("--data-dir", other, "index", library)
    assert (other / "kenning.db").is_file()
    assert not (kenning.data_dir / "kenning.db").exists()
    other.joinpath("config.toml").write_text('workers = "many"\n')
    run = kenning("--data-dir", other, "status", check=False)
    assert run.code == 2 and "workers" in run.stderr
