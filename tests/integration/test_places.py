"""Place tags from EXIF GPS and video location tags, by offline reverse geocoding."""

from __future__ import annotations

import shutil

import pytest
from conftest import IMAGENET
from media_factory import geotagged as media_geotagged
from media_factory import with_camera, write_photo_video

from kenning.places.geocode import geocoder

PHOTO = IMAGENET / "n01530575_brambling.JPEG"


def geotagged(dest, latitude: float, longitude: float):
    return media_geotagged(PHOTO, dest, latitude, longitude)


@pytest.fixture(autouse=True)
def places_only(kenning):
    kenning.env["KENNING_CLASSIFIERS"] = "places"


def test_geotagged_photos_and_videos_get_places(kenning, tmp_path):
    library = tmp_path / "Trips"
    library.mkdir()
    geotagged(library / "eiffel.jpg", 48.8584, 2.2945)
    geotagged(library / "opera house.jpg", -33.8568, 151.2153)
    geotagged(library / "no fix.jpg", 0.0, 0.0)
    geotagged(library / "pacific.jpg", -30.0, -140.0)
    geotagged(library / "reading.jpg", 51.4543, -0.9781)  # a town called like a tag
    (library / "no gps.jpg").write_bytes(PHOTO.read_bytes())
    video = write_photo_video(library / "berlin.mp4", PHOTO, "mp4", "libx264", seconds=1)
    import av

    with av.open(str(video)) as source, av.open(str(library / "berlin tagged.mp4"), "w",
                                                 format="mp4") as out:
        out.metadata["location"] = "+52.5200+013.4050/"
        stream = out.add_stream_from_template(source.streams.video[0])
        for packet in source.demux(source.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                out.mux(packet)
    kenning("index", library)

    def place(name):
        return kenning("tags", library / name, "--json").json()

    eiffel = place("eiffel.jpg")
    assert {t["tag"] for t in eiffel["tags"]} == {"France", "Île-de-France", "Paris"}
    assert eiffel["place"]["latitude"] == pytest.approx(48.8584, abs=1e-3)
    assert {t["tag"] for t in place("opera house.jpg")["tags"]} >= {"Australia", "Sydney"}
    assert "Germany" in {t["tag"] for t in place("berlin tagged.mp4")["tags"]}
    # Reading is a tag of books too: the town's tag says which Reading it is.
    assert {t["tag"] for t in place("reading.jpg")["tags"]} == {
        "United Kingdom", "England", "Reading, England"}
    for name in ("no fix.jpg", "no gps.jpg", "berlin.mp4"):
        assert place(name)["tags"] == [] and place(name)["place"] is None, name
    at_sea = place("pacific.jpg")
    assert at_sea["tags"] == [] and at_sea["place"]["country"] is None
    assert kenning("search", "Paris", "--json").json()["files"][0].endswith("eiffel.jpg")


def test_geocoder_on_the_sphere():
    g = geocoder()
    assert g.place(-18.14, 178.44).country == "Fiji"  # next to the date line
    assert g.place(-16.8, -179.99).country == "Fiji"  # across it
    assert g.place(27.1751, 78.0421).city == "Agra"
    assert g.place(89.9, 0.0) is None


def test_photos_without_a_capture_date_are_dated_by_their_names(kenning, tmp_path):
    """WhatsApp, phones and screenshots name files by their date; a photo whose EXIF has
    no capture time is placed by that date (marked as coming from the name), EXIF wins
    where both are there, and a name without a date leaves the file's own time."""
    library = tmp_path / "Phone"
    library.mkdir()
    for name in ("IMG_20190704_123456.jpg", "IMG-20180101-WA0001.jpg", "DSC01234.jpg"):
        (library / name).write_bytes(PHOTO.read_bytes())
    media_geotagged(PHOTO, library / "IMG_20190705_101010.jpg", 48.8584, 2.2945,
                    taken="2015:05:05 12:00:00")
    kenning("index", library)

    def found(*words) -> set[str]:
        return {p.rsplit("/", 1)[-1] for p in kenning("search", *words, "--json").json()["files"]}

    assert found("July", "2019") == {"IMG_20190704_123456.jpg"}
    assert found("2018") == {"IMG-20180101-WA0001.jpg"}
    assert found("May", "2015") == {"IMG_20190705_101010.jpg"}  # its camera's date
    from conftest import open_library

    from kenning import catalog

    with open_library(kenning) as (db, user_id):
        details = {f["name"]: catalog.file_detail(db, user_id, f["id"])
                   for f in catalog.list_files(db, user_id, 100, 0).items}
    assert details["IMG_20190704_123456.jpg"]["taken"] == "2019-07-04T12:34:56+00:00"
    assert details["IMG_20190704_123456.jpg"]["taken_from"] == "name"
    assert details["IMG_20190705_101010.jpg"]["taken_from"] == "camera"
    assert details["DSC01234.jpg"]["taken"] is None
    assert details["DSC01234.jpg"]["taken_from"] is None


def test_the_camera_and_lens_are_read(kenning, tmp_path):
    library = tmp_path / "library"
    source = IMAGENET / "n01443537_goldfish.JPEG"
    with_camera(source, library / "canon.jpg", "Canon", "Canon EOS 80D",
                "EF-S18-135mm f/3.5-5.6 IS USM")
    with_camera(IMAGENET / "n01530575_brambling.JPEG", library / "nikon.jpg",
                "NIKON CORPORATION", "NIKON D750")
    with_camera(IMAGENET / "n01818515_macaw.JPEG", library / "phone.jpg", "Google", "Pixel 7")
    shutil.copy(library / "canon.jpg", library / "copy of canon.jpg")  # a twin
    shutil.copy(IMAGENET / "n01440764_tench.JPEG", library / "none.jpg")
    kenning("index", library)
    seen = {name: kenning("tags", library / name, "--json").json()
            for name in ("canon.jpg", "copy of canon.jpg", "nikon.jpg", "phone.jpg", "none.jpg")}
    assert (seen["canon.jpg"]["camera"], seen["canon.jpg"]["lens"]) == (
        "Canon EOS 80D", "EF-S18-135mm f/3.5-5.6 IS USM")
    assert seen["copy of canon.jpg"]["camera"] == "Canon EOS 80D"
    assert (seen["nikon.jpg"]["camera"], seen["nikon.jpg"]["lens"]) == ("NIKON D750", None)
    assert seen["phone.jpg"]["camera"] == "Google Pixel 7"
    assert (seen["none.jpg"]["camera"], seen["none.jpg"]["lens"]) == (None, None)
