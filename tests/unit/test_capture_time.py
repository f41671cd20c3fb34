"""When a photo was taken, from its EXIF (with and without an offset) and when it is not."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from PIL import Image

from kenning.media.location import photo_metadata


def _photo(path, **tags):
    exif = Image.Exif()
    for tag, value in tags.items():
        ifd = exif if tag == "DateTime" else exif.get_ifd(0x8769)
        ifd[{"DateTimeOriginal": 0x9003, "OffsetTimeOriginal": 0x9011,
             "DateTime": 0x0132}[tag]] = value
    Image.new("RGB", (8, 8)).save(path, exif=exif)
    return path


def _ns(*parts):
    return int(datetime(*parts, tzinfo=UTC).timestamp()) * 10**9


@pytest.mark.parametrize("tags, expected", [
    ({"DateTimeOriginal": "2019:07:14 10:30:00"}, _ns(2019, 7, 14, 10, 30)),
    ({"DateTimeOriginal": "2019:07:14 10:30:00", "OffsetTimeOriginal": "+02:00"},
     _ns(2019, 7, 14, 8, 30)),
    ({"DateTimeOriginal": "2019:07:14 23:30:00", "OffsetTimeOriginal": "-05:00"},
     _ns(2019, 7, 15, 4, 30)),
    ({"DateTime": "2001:02:03 04:05:06"}, _ns(2001, 2, 3, 4, 5, 6)),
    ({"DateTimeOriginal": "0000:00:00 00:00:00"}, None),
    ({"DateTimeOriginal": "1970:01:01 00:00:00"}, None),
    ({"DateTimeOriginal": "garbage"}, None),
    ({}, None),
])
def test_capture_time(tmp_path, tags, expected):
    where, when = photo_metadata(_photo(tmp_path / "p.jpg", **tags))
    assert where is None and when == expected


def test_a_file_that_is_no_photo_has_no_time(tmp_path):
    (tmp_path / "x.jpg").write_bytes(b"not a photo")
    assert photo_metadata(tmp_path / "x.jpg") == (None, None)
