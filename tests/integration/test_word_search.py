"""Search with words as people type them (kenning.wordsearch), through `kenning search`,
`/api/search?q=` and the web page: tags whatever their case, singular or plural, words
for several tags (people, portrait, animal...), the start of a name, people, places and
dates combined, and the nearest real terms for a word that names nothing. Real models
on real photos."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import httpx
import pytest
from conftest import DEV, IMAGENET, KenningCli
from media_factory import geotagged
from PIL import Image
from server_support import PASSWORDS, sign_in, start_server

LFW = DEV / "faces" / "lfw_view1" / "images"
ANN = sorted((LFW / "Abdullah_Gul").glob("*.jpg"))[:4]  # one person, four photos


def _dated(source: Path, dest: Path, when: str) -> None:
    image = Image.open(source)
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = when
    image.save(dest, exif=exif)


def make_library(folder: Path) -> None:
    folder.mkdir(parents=True)
    for n, path in enumerate(ANN):
        _dated(path, folder / f"ann{n}.jpg", f"20{19 + n}:07:14 12:00:00")
    shutil.copyfile(DEV / "faces" / "dlib_johns" / "examples" / "faces" / "bald_guys.jpg",
                    folder / "group.jpg")
    for name in ("n01443537_goldfish", "n01530575_brambling"):
        shutil.copyfile(IMAGENET / f"{name}.JPEG", folder / f"{name}.jpg")
    geotagged(IMAGENET / "n01530575_brambling.JPEG", folder / "paris.jpg", 48.8584, 2.2945,
              taken="2019:07:20 10:00:00")
    # Reading: a town called like the tag of books (its tag is "Reading, England")
    geotagged(IMAGENET / "n01443537_goldfish.JPEG", folder / "reading.jpg", 51.4543, -0.9781)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("words")
    make_library(root / "photos")
    kenning = KenningCli(root / "data")
    kenning.env["KENNING_CLASSIFIERS"] = "objects,faces,places"
    kenning("index", root / "photos")
    faces = [max(kenning("tags", root / "photos" / f"ann{n}.jpg", "--json").json()["faces"],
                 key=lambda f: f["box"][2] * f["box"][3])["face"]  # hers, not one behind
             for n in range(len(ANN))]
    kenning("people", "move", *map(str, faces), "--new", "Grandma Ann")
    return kenning, root / "photos"


def found(kenning, *words: str) -> set[str]:
    return {Path(p).name for p in kenning("search", *words, "--json").json()["files"]}


def test_words_for_tags_and_their_kinds(library):
    kenning, _ = library
    photos = {f"ann{n}.jpg" for n in range(len(ANN))}
    alone = {name for name in photos if len(kenning(
        "tags", library[1] / name, "--json").json()["faces"]) == 1}
    assert alone  # (some have people behind her: not portraits)
    assert found(kenning, "people") >= photos | {"group.jpg"}
    assert found(kenning, "PERSONS") == found(kenning, "people")  # case, plural
    assert found(kenning, "portrait") >= alone
    assert "group.jpg" not in found(kenning, "portrait")
    assert found(kenning, "animals") >= {"n01443537_goldfish.jpg", "n01530575_brambling.jpg"}
    assert found(kenning, "birds") >= {"n01530575_brambling.jpg", "paris.jpg"}
    assert found(kenning, "fis") == found(kenning, "fish") != set()  # the start of a tag


def test_people_places_and_dates_combine(library):
    kenning, _ = library
    assert found(kenning, "Grandma Ann") == {f"ann{n}.jpg" for n in range(len(ANN))}
    assert found(kenning, "grandma", "2019") == {"ann0.jpg"}  # first name, a year
    assert found(kenning, "Ann July 2021") == {"ann2.jpg"}  # a month and year
    assert found(kenning, "Paris", "2019") == {"paris.jpg"}
    assert found(kenning, "Paris 2023") == set()
    assert found(kenning, "bird July 2019") == {"paris.jpg"}
    assert found(kenning, "Reading") == {"reading.jpg"}  # by the town's own name
    assert found(kenning, "Reading England") == found(kenning, "reading, england") == {
        "reading.jpg"}
    assert found(kenning, "fish Reading") == {"reading.jpg"}
    assert found(kenning, "Wedding") == set()  # (no photo in Berlin's Wedding)
    understood = kenning("search", "grandma", "beach", "--json")
    assert understood.code == 0


def test_a_word_that_names_nothing_gets_the_nearest_terms(library):
    kenning, _ = library
    answer = kenning("search", "peple", check=False)
    assert answer.code == 1 and "did you mean" in answer.stderr and "people" in answer.stderr
    data = kenning("search", "Portrat", "--json").json()
    assert data["files"] == [] and "Portrait" in data["unknown"]["Portrat"]


def test_the_api_and_the_web_page_understand_the_same_words(tmp_path):
    def more_files(libraries):
        make_library(libraries["alice"] / "trip")

    server = start_server(tmp_path, classifiers="objects,faces,places", more_files=more_files,
                          serve_args=("--no-watch",))
    try:
        server.wait_idle("alice")
        with server.client("alice") as http:
            answer = http.get("/api/search", params={"q": "bird paris 2019"}).json()
            assert [Path(f["path"]).name for f in answer["items"]] == ["paris.jpg"]
            assert [p["kind"] for p in answer["understood"]] == ["tag", "place", "date"]
            miss = http.get("/api/search", params={"q": "peple"}).json()
            assert miss["items"] == [] and "people" in [t.lower() for t in miss["unknown"]["peple"]]
        with httpx.Client(base_url=server.url) as browser:
            sign_in(browser, "alice", PASSWORDS["alice"])
            page = browser.get("/search", params={"q": "bird Paris 2019"})
            assert page.status_code == 200
            chips = re.findall(r'class="chip chip-(\w+)">([^<]+) <a href="([^"]+)"', page.text)
            assert [(kind, label.strip()) for kind, label, _ in chips] == [
                ("tag", "Bird"), ("place", "Paris"), ("date", "2019")]
            without_date = chips[2][2].replace("&amp;", "&")
            assert "2019" not in without_date
            assert "paris.jpg" in page.text
            suggestion = browser.get("/search", params={"q": "peple"})
            assert "did you mean" in suggestion.text
    finally:
        server.stop()
