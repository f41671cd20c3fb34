"""Place tags from EXIF GPS and video location tags, by offline reverse geocoding."""

from __future__ import annotations

import pytest
from conftest import IMAGENET
from media_factory import geotagged as media_geotagged
from media_factory import write_photo_video

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
