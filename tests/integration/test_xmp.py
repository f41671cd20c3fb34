"""XMP sidecars with a real reader and writer: ExifTool reads back every field Kenning
exports, and writes the sidecars (digiKam, Lightroom, Microsoft Photo, embedded XMP,
rotated photos, a video) that Kenning imports."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from conftest import DEV, IMAGENET
from media_factory import geotagged, save_photo, write_video
from server_support import PASSWORDS, sign_in, start_server

JOHNS = DEV / "faces" / "dlib_johns" / "examples" / "johns"
GROUPS = DEV / "faces" / "dlib_johns" / "examples" / "faces"
CLASSIFIERS = "faces,places"  # what these tests need (the objects model is not)
PIXEL = 0.01  # `kenning tags` rounds boxes to pixels: 1 of these 150 px photos

pytestmark = pytest.mark.skipif(shutil.which("exiftool") is None,
                                reason="exiftool (libimage-exiftool-perl) is not installed")


def exiftool_read(path: Path) -> dict:
    out = subprocess.run(["exiftool", "-j", "-struct", "-n", str(path)], check=True,
                         capture_output=True).stdout
    return json.loads(out)[0]


def exiftool_write(path: Path, *assignments: str) -> None:
    subprocess.run(["exiftool", "-q", "-overwrite_original", *assignments, str(path)],
                   check=True, capture_output=True)


def mwg_region(name: str, box, size) -> str:
    """An MWG RegionInfo value for exiftool: `box` as top-left fractions."""
    x, y, w, h = box
    return (f"{{AppliedToDimensions={{W={size[0]},H={size[1]},Unit=pixel}},RegionList=[{{"
            f"Area={{X={x + w / 2:.4f},Y={y + h / 2:.4f},W={w:.4f},H={h:.4f},"
            f"Unit=normalized}},Name={name},Type=Face}}]}}")


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def faces_of(kenning, path: Path) -> list[dict]:
    data = kenning("tags", path, "--json").json()
    return [f | {"size": (data["width"], data["height"])} for f in data["faces"]]


def fractions(face: dict) -> tuple[float, ...]:
    width, height = face["size"]
    x, y, w, h = face["box"]
    return x / width, y / height, w / width, h / height


@pytest.fixture
def kenning_faces(kenning):
    kenning.env["KENNING_CLASSIFIERS"] = CLASSIFIERS
    return kenning


@pytest.fixture
def salley_library(tmp_path) -> Path:
    """Four photos of John Salley: one stored turned (EXIF orientation 6), one geotagged
    in Rio de Janeiro; and a goldfish."""
    root = tmp_path / "library"
    photos = sorted((JOHNS / "John_Salley").glob("*.jpg"))
    root.mkdir(parents=True)
    for photo in photos[:2]:
        shutil.copy(photo, root / photo.name)
    save_photo(photos[2], root / "turned.jpg", "JPEG", size=300, orientation=6)
    save_photo(photos[2], root / "upright.jpg", "JPEG", size=300)
    geotagged(photos[3], root / "rio.jpg", -22.9068, -43.1729)
    shutil.copy(IMAGENET / "n01443537_goldfish.JPEG", root / "goldfish.jpg")
    return root


def test_exported_sidecars_are_what_exiftool_reads(kenning_faces, salley_library):
    kenning = kenning_faces
    before = digest(salley_library)
    kenning("index", salley_library)
    [person] = kenning("people", "--json").json()
    kenning("people", "name", str(person["id"]), "Anna Müller")
    report = kenning("export", "xmp", "--json").json()
    assert report["written"] == 6 and not report["failed"]
    assert digest(salley_library) == before  # the library is never touched by default
    folder = kenning.data_dir / "xmp" / "local" / str(salley_library).strip("/")

    rio = exiftool_read(folder / "rio.jpg.xmp")
    assert "Anna Müller" in rio["Subject"] and "People" in rio["Subject"]
    assert "People|Anna Müller" in rio["HierarchicalSubject"]
    assert "People/Anna Müller" in rio["TagsList"]
    assert rio["PersonInImage"] in ("Anna Müller", ["Anna Müller"])
    assert rio["City"] == "Rio de Janeiro" and rio["Country"] == "Brazil"
    assert rio["CountryCode"] == "BR"
    [face] = faces_of(kenning, salley_library / "rio.jpg")
    [region] = rio["RegionInfo"]["RegionList"]
    assert region["Name"] == "Anna Müller" and region["Type"] == "Face"
    x, y, w, h = fractions(face)
    area = region["Area"]
    assert area["Unit"] == "normalized"
    assert area["X"] == pytest.approx(x + w / 2, abs=PIXEL)
    assert area["Y"] == pytest.approx(y + h / 2, abs=PIXEL)
    assert (area["W"], area["H"]) == (pytest.approx(w, abs=PIXEL), pytest.approx(h, abs=PIXEL))
    dims = rio["RegionInfo"]["AppliedToDimensions"]
    assert (dims["W"], dims["H"], dims["Unit"]) == (*face["size"], "pixel")
    [mp] = rio["RegionInfoMP"]["Regions"]
    assert mp["PersonDisplayName"] == "Anna Müller"
    assert [float(v) for v in mp["Rectangle"].split(",")] == pytest.approx([x, y, w, h],
                                                                           abs=PIXEL)

    # The turned photo: its region is on the image as stored (MWG), which is the upright
    # photo turned a quarter anticlockwise: (x, y) upright is (y, 1 - x) stored.
    [upright_face] = faces_of(kenning, salley_library / "upright.jpg")
    ux, uy, uw, uh = fractions(upright_face)
    turned = exiftool_read(folder / "turned.jpg.xmp")
    [region] = turned["RegionInfo"]["RegionList"]
    dims = turned["RegionInfo"]["AppliedToDimensions"]
    assert (dims["W"], dims["H"]) == tuple(reversed(upright_face["size"]))
    area = region["Area"]
    assert area["X"] == pytest.approx(uy + uh / 2, abs=0.03)
    assert area["Y"] == pytest.approx(1 - (ux + uw / 2), abs=0.03)
    assert area["W"] == pytest.approx(uh, abs=0.03) and area["H"] == pytest.approx(uw, abs=0.03)

    fish = exiftool_read(folder / "goldfish.jpg.xmp")
    assert "RegionInfo" not in fish and "PersonInImage" not in fish

    again = kenning("export", "xmp", "--json").json()
    assert again["written"] == 0 and again["unchanged"] == 6  # nothing changed: nothing written
    status = kenning("sidecars", "--json").json()
    assert status["export"]["files"] == 6
    # A photo moved: its sidecar moves with it in Kenning's folder.
    (salley_library / "rio.jpg").rename(salley_library / "carnival.jpg")
    kenning("index", salley_library)
    moved = kenning("export", "xmp", "--json").json()
    assert moved["written"] == 1 and moved["unchanged"] == 5
    assert not (folder / "rio.jpg.xmp").exists()
    assert exiftool_read(folder / "carnival.jpg.xmp")["City"] == "Rio de Janeiro"


def test_round_trip_gives_the_same_names_on_the_same_faces(kenning_faces, salley_library,
                                                           tmp_path):
    kenning = kenning_faces
    group = salley_library / "group.jpg"
    shutil.copy(GROUPS / "bald_guys.jpg", group)
    kenning("index", salley_library)
    people = kenning("people", "--json").json()
    salley = max(people, key=lambda p: p["faces"])
    kenning("people", "name", str(salley["id"]), "John Salley")
    group_faces = faces_of(kenning, group)
    assert len(group_faces) >= 3
    for number, face in enumerate(group_faces[:3]):  # three strangers named one by one
        kenning("people", "move", str(face["face"]), "--new", f"Guest {number}")
    # A keyword given in digiKam comes in as the user's tag, and goes out again.
    sidecar = salley_library / "rio.jpg.xmp"
    exiftool_write(sidecar, "-XMP-dc:Subject=Carnival", "-XMP-digiKam:TagsList=Trips/Carnival")
    kenning("index", salley_library)
    report = kenning("export", "xmp", "--beside", "--json").json()
    assert not report["failed"]
    names_before = {p.name: sorted(f["name"] for f in faces_of(kenning, p) if f["name"])
                    for p in salley_library.glob("*.jpg")}

    fresh = tmp_path / "fresh"
    shutil.copytree(salley_library, fresh / "library")
    other = type(kenning)(tmp_path / "fresh-data")
    other.env["KENNING_CLASSIFIERS"] = CLASSIFIERS
    index = other("index", fresh / "library", "--json").json()
    assert index["xmp"]["names"] >= 4 and not index["xmp"]["conflicts"]
    assert not index["xmp"]["failed"]
    names_after = {p.name: sorted(f["name"] for f in faces_of(other, p) if f["name"])
                   for p in (fresh / "library").glob("*.jpg")}
    assert names_after == names_before
    for path in (fresh / "library").glob("*.jpg"):  # the same faces: boxes agree
        old = {f["name"]: f["box"] for f in faces_of(kenning, salley_library / path.name)}
        for face in faces_of(other, path):
            if face["name"]:
                assert face["box"] == pytest.approx(old[face["name"]], abs=3)
    tags = other("tags", fresh / "library" / "rio.jpg", "--json").json()["tags"]
    sources = {t["tag"]: t["source"] for t in tags}
    assert sources["Carnival"] == "user"
    assert sources.get("People") == "faces"  # a model's tag stays the model's
    assert "Trips" not in sources  # a keyword's path is not a tag of its own


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_other_tools_sidecars_and_embedded_xmp_are_imported(kenning_faces, tmp_path, database,
                                                            request):
    kenning = kenning_faces
    if database == "postgresql":
        kenning.env["KENNING_DATABASE_URL"] = request.getfixturevalue("postgres_url")
    scratch = tmp_path / "scratch"
    sources = {"digikam": "bald_guys.jpg", "lightroom": "2008_001322.jpg",
               "windows": "2008_002079.jpg", "turned": "2009_004587.jpg"}
    for name, source in sources.items():
        save_photo(GROUPS / source, scratch / f"{name}.jpg", "JPEG")
    finder = type(kenning)(tmp_path / "scratch-data")
    finder.env["KENNING_CLASSIFIERS"] = "faces"
    finder("index", scratch)
    # In each photo, the leftmost face gets a name.
    first = {name: min(faces_of(finder, scratch / f"{name}.jpg"), key=lambda f: f["box"][0])
             for name in sources}

    library = tmp_path / "library"
    library.mkdir()
    for name in sources:
        shutil.copy(scratch / f"{name}.jpg", library / f"{name}.jpg")
    # digiKam: photo.jpg.xmp, MWG regions, its tag tree.
    face = first["digikam"]
    exiftool_write(library / "digikam.jpg.xmp",
                   "-XMP-mwg-rs:RegionInfo=" + mwg_region("Ada", fractions(face), face["size"]),
                   "-XMP-digiKam:TagsList=People/Ada", "-XMP-digiKam:TagsList=Party",
                   "-XMP-dc:Subject=Ada", "-XMP-dc:Subject=Party")
    # Lightroom: photo.xmp, hierarchical keywords.
    face = first["lightroom"]
    exiftool_write(library / "lightroom.xmp",
                   "-XMP-mwg-rs:RegionInfo=" + mwg_region("Grace", fractions(face),
                                                          face["size"]),
                   "-XMP-lr:HierarchicalSubject=Events|Wedding")
    # Microsoft Photo regions embedded in the photo itself.
    x, y, w, h = fractions(first["windows"])
    exiftool_write(library / "windows.jpg",
                   "-XMP-MP:RegionInfoMP={Regions=[{PersonDisplayName=Alan,"
                   f"Rectangle={x:.4f}|, {y:.4f}|, {w:.4f}|, {h:.4f}}}]}}")  # (| escapes)
    # A photo stored turned (orientation 6), its region on the image as stored.
    face = first["turned"]
    save_photo(scratch / "turned.jpg", library / "turned.jpg", "JPEG", orientation=6)
    x, y, w, h = fractions(face)
    stored = (y, 1 - x - w, h, w)  # upright (x, y) is (y, 1 - x) on the stored image
    exiftool_write(library / "turned.jpg.xmp", "-XMP-mwg-rs:RegionInfo="
                   + mwg_region("Barbara", stored, face["size"][::-1]))
    # A region where no face is: a drawn face, named.
    shutil.copy(IMAGENET / "n01443537_goldfish.JPEG", library / "goldfish.jpg")
    exiftool_write(library / "goldfish.jpg.xmp",
                   "-XMP-mwg-rs:RegionInfo=" + mwg_region("Goldie", (0.3, 0.3, 0.3, 0.3),
                                                          (0, 0)).replace("W=0,H=0,", ""))
    # A video's keywords.
    write_video(library / "clip.mp4", "mp4", "h264")
    exiftool_write(library / "clip.mp4.xmp", "-XMP-dc:Subject=Birthday")
    originals = {p.name: p.read_bytes() for p in library.iterdir()}

    report = kenning("index", library, "--json").json()
    assert report["xmp"]["failed"] == {}, report["xmp"]
    named = {p: {f["name"] for f in faces_of(kenning, library / p) if f["name"]}
             for p in ("digikam.jpg", "lightroom.jpg", "windows.jpg", "turned.jpg",
                       "goldfish.jpg")}
    assert named == {"digikam.jpg": {"Ada"}, "lightroom.jpg": {"Grace"},
                     "windows.jpg": {"Alan"}, "turned.jpg": {"Barbara"},
                     "goldfish.jpg": {"Goldie"}}
    for photo, name in (("digikam", "Ada"), ("lightroom", "Grace"), ("windows", "Alan")):
        [face] = [f for f in faces_of(kenning, library / f"{photo}.jpg") if f["name"]]
        assert face["name"] == name and face["box"] == pytest.approx(first[photo]["box"], abs=4)
    [goldie] = [f for f in faces_of(kenning, library / "goldfish.jpg") if f["name"]]
    assert goldie["drawn"]
    # The turned photo shows upright: its region, on the image as stored, named the face
    # found in the upright copy.
    [barbara] = [f for f in faces_of(kenning, library / "turned.jpg") if f["name"]]
    upright = first["turned"]
    assert barbara["size"] == upright["size"]
    assert barbara["box"] == pytest.approx(upright["box"], abs=6)
    tags = {p: {t["tag"]: t["source"] for t in kenning("tags", library / p, "--json")
                .json()["tags"]} for p in ("digikam.jpg", "lightroom.jpg", "clip.mp4")}
    assert tags["digikam.jpg"].get("Party") == "user" and "Ada" not in tags["digikam.jpg"]
    assert tags["lightroom.jpg"].get("Wedding") == "user"
    assert tags["clip.mp4"].get("Birthday") == "user"
    people = {p["name"]: p for p in kenning("people", "--json").json()}
    assert {"Ada", "Grace", "Alan", "Barbara", "Goldie"} <= set(people)
    assert {p.name: p.read_bytes() for p in library.iterdir()} == originals

    # Read once: the same run again reads nothing; a changed sidecar is read again.
    again = kenning("index", library, "--json").json()
    assert again["xmp"] is None
    exiftool_write(library / "clip.mp4.xmp", "-XMP-dc:Subject+=Cake")
    again = kenning("index", library, "--json").json()
    assert again["xmp"]["tags"] == 1


BAD = {
    "malformed": b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF",
    "huge": b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><!--" + b"x" * 3_000_000 + b"-->"
            b"</x:xmpmeta>",
    "xxe": b"<?xml version='1.0'?><!DOCTYPE x [<!ENTITY e SYSTEM 'file:///etc/passwd'>]>"
           b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF xmlns:rdf="
           b"'http://www.w3.org/1999/02/22-rdf-syntax-ns#'><rdf:Description "
           b"xmlns:dc='http://purl.org/dc/elements/1.1/'><dc:subject><rdf:Bag><rdf:li>&e;"
           b"</rdf:li></rdf:Bag></dc:subject></rdf:Description></rdf:RDF></x:xmpmeta>",
    "laughs": b"<?xml version='1.0'?><!DOCTYPE l [<!ENTITY a 'aaaaaaaaaa'>"
              + b"".join(b"<!ENTITY %c '%s'>" % (98 + i, (b"&%c;" % (97 + i)) * 10)
                         for i in range(9))
              + b"]><x:xmpmeta xmlns:x='adobe:ns:meta/'>&j;</x:xmpmeta>",
}


def test_bad_sidecars_fail_their_file_alone(kenning_faces, tmp_path):
    kenning = kenning_faces
    library = tmp_path / "library"
    library.mkdir()
    photos = sorted((JOHNS / "John_Savage").glob("*.jpg"))
    for (name, data), photo in zip(BAD.items(), photos, strict=False):
        shutil.copy(photo, library / f"{name}.jpg")
        (library / f"{name}.jpg.xmp").write_bytes(data)
    shutil.copy(photos[5], library / "wrong size.jpg")
    exiftool_write(library / "wrong size.jpg.xmp", "-XMP-mwg-rs:RegionInfo="
                   + mwg_region("Someone", (0.2, 0.2, 0.5, 0.5), (640, 100)))
    shutil.copy(photos[6], library / "outside.jpg")
    exiftool_write(library / "outside.jpg.xmp", "-XMP-mwg-rs:RegionInfo="
                   + mwg_region("Someone", (1.2, 0.2, 0.5, 0.5), (150, 150)))
    shutil.copy(photos[7], library / "good.jpg")
    exiftool_write(library / "good.jpg.xmp", "-XMP-dc:Subject=Fine")

    report = kenning("index", library, "--json").json()
    failed = report["xmp"]["failed"]
    assert set(failed) == {f"{n}.jpg" for n in [*BAD, "wrong size", "outside"]}
    assert "not well-formed" in failed["malformed.jpg"]
    assert "MB" in failed["huge.jpg"]
    assert "DTD" in failed["xxe.jpg"] and "DTD" in failed["laughs.jpg"]
    assert "640x100" in failed["wrong size.jpg"]
    assert "outside the photo" in failed["outside.jpg"]
    # Every photo processed all the same.
    assert report["processed"]["faces"] == len(BAD) + 3
    tags = kenning("tags", library / "good.jpg", "--json").json()["tags"]
    assert "Fine" in {t["tag"] for t in tags}
    listed = kenning("sidecars", "--json").json()["import"]
    assert listed["failed_count"] == 6
    assert "passwd" not in json.dumps(kenning("tags", library / "xxe.jpg", "--json").json())


def test_an_import_never_overrides_a_decision_made_in_kenning(kenning_faces, tmp_path):
    kenning = kenning_faces
    library = tmp_path / "library"
    shutil.copytree(JOHNS / "John_Simm", library)
    kenning("index", library)
    [person] = kenning("people", "--json").json()
    kenning("people", "name", str(person["id"]), "Johnny")
    photo = sorted(library.glob("*.jpg"))[0]
    exiftool_write(Path(f"{photo}.xmp"), "-XMP-mwg-rs:RegionInfo="
                   + mwg_region("John Simm", (0.1, 0.05, 0.8, 0.9), (150, 150)))
    report = kenning("index", library, "--json").json()
    [conflict] = report["xmp"]["conflicts"]
    assert "'John Simm'" in conflict and "'Johnny'" in conflict
    assert [p["name"] for p in kenning("people", "--json").json()] == ["Johnny"]
    status = kenning("sidecars", "--json").json()["import"]
    assert status["conflict_count"] == 1 and status["conflicts"][0]["path"].endswith(photo.name)
    text = kenning("sidecars").stdout
    assert "conflict" in text and "Johnny" in text


def test_export_merges_into_another_tools_sidecar(kenning_faces, salley_library):
    kenning = kenning_faces
    kenning("index", salley_library)
    [person] = kenning("people", "--json").json()
    kenning("people", "name", str(person["id"]), "Anna")
    sidecar = salley_library / "rio.jpg.xmp"
    exiftool_write(sidecar, "-XMP-dc:Subject=Holiday", "-XMP-xmp:Rating=4",
                   "-XMP-mwg-rs:RegionInfo=" + mwg_region("Uncle Bob", (0.0, 0.0, 0.1, 0.1),
                                                          (150, 150)))
    photo_before = (salley_library / "rio.jpg").read_bytes()
    kenning("export", "xmp", "--beside")
    read = exiftool_read(sidecar)
    assert {"Holiday", "Anna"} <= set(read["Subject"]) and read["Rating"] == 4
    assert {r["Name"] for r in read["RegionInfo"]["RegionList"]} == {"Uncle Bob", "Anna"}
    kenning("people", "name", "Anna", "Anna Schmidt")
    kenning("export", "xmp", "--beside")
    read = exiftool_read(sidecar)
    assert "Anna" not in read["Subject"] and {"Holiday", "Anna Schmidt"} <= set(read["Subject"])
    assert {r["Name"] for r in read["RegionInfo"]["RegionList"]} == {"Uncle Bob",
                                                                     "Anna Schmidt"}
    assert read["Rating"] == 4
    assert (salley_library / "rio.jpg").read_bytes() == photo_before
    assert sorted(p.name for p in salley_library.iterdir() if ".kenning" in p.name) == []
    # Lightroom's naming: photo.xmp.
    kenning("export", "xmp", "--beside", "--naming", "base")
    assert exiftool_read(salley_library / "upright.xmp")["PersonInImage"] in (
        "Anna Schmidt", ["Anna Schmidt"])


def test_the_server_keeps_sidecars_current(tmp_path):

    server = start_server(tmp_path, classifiers="faces")
    try:
        server.wait_idle("alice")
        with server.client("alice") as alice, server.client("bob") as bob:
            setting = {"place": "folder", "naming": "full", "keep_current": True}
            assert alice.put("/api/xmp/setting", json=setting).status_code == 200
            exported = alice.post("/api/xmp/export").json()
            assert exported["written"] >= 55 and not exported["failed"]
            # A user never chooses a folder over the API (it could be anyone's).
            refused = bob.post("/api/xmp/export", json=setting | {"folder": "/tmp/x"})
            assert refused.status_code == 422
            person = alice.get("/api/people").json()["items"][0]
            assert alice.patch(f"/api/people/{person['id']}",
                               json={"name": "Johnny Five"}).status_code == 200
            photo = alice.get(f"/api/people/{person['id']}/faces").json()["items"][0]
            detail = alice.get(f"/api/files/{photo['file']}").json()
            sidecar = (server.cli.data_dir / "xmp" / "alice"
                       / str(server.libraries["alice"]).strip("/")
                       / f"{detail['path']}.xmp")
            end = time.monotonic() + 60
            while time.monotonic() < end and "Johnny Five" not in sidecar.read_text():
                time.sleep(1)
            assert "Johnny Five" in sidecar.read_text()  # within a minute
            assert exiftool_read(sidecar)["PersonInImage"] in ("Johnny Five", ["Johnny Five"])
            status = alice.get("/api/xmp").json()
            assert status["export"]["files"] >= 55 and status["export"]["setting"]["keep_current"]
            assert bob.get("/api/xmp").json()["export"]["files"] == 0  # his own only
        with httpx.Client(base_url=server.url) as browser:
            sign_in(browser, "alice", PASSWORDS["alice"])
            page = browser.get("/status").text
            assert "Sidecars for other photo tools" in page and "Keep them current" in page
    finally:
        server.stop()
