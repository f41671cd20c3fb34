"""The grid's thumbnails (kenning.media.thumbnails): sizes, names, writing once."""

from __future__ import annotations

import io
import os

from PIL import Image

from kenning.classifiers.base import Photo
from kenning.media.thumbnails import ThumbnailWriter, cache_key, thumbnail_path, thumbnail_webp


def _size(data: bytes) -> tuple[int, int]:
    return Image.open(io.BytesIO(data)).size


def test_sizes_panoramas_and_small_photos():
    assert _size(thumbnail_webp(Image.new("RGB", (1000, 750)), 240)) == (320, 240)
    assert _size(thumbnail_webp(Image.new("RGB", (750, 1000)), 480)) == (360, 480)
    assert _size(thumbnail_webp(Image.new("RGB", (5000, 500)), 240)) == (960, 240)  # 4:1
    assert _size(thumbnail_webp(Image.new("RGB", (100, 80)), 240)) == (100, 80)  # kept


def test_written_once_per_file_version(tmp_path):
    photo_path = tmp_path / "a.jpg"
    Image.new("RGB", (1600, 1200), "teal").save(photo_path)
    writer = ThumbnailWriter(tmp_path / "cache")
    fd = os.open(photo_path, os.O_RDONLY)
    try:
        photo = Photo(Image.open(photo_path).convert("RGB"))
        assert writer.write(7, str(tmp_path), b"a.jpg", fd, photo)
        assert not writer.write(7, str(tmp_path), b"a.jpg", fd, photo)  # there already
        target = tmp_path / "cache" / thumbnail_path(
            240, 7, cache_key(str(tmp_path), b"a.jpg", os.fstat(fd)))
        assert _size(target.read_bytes()) == (320, 240)
    finally:
        os.close(fd)
    # The file changes: its new version's thumbnail replaces the old one.
    Image.new("RGB", (1200, 1200), "red").save(photo_path)
    fd = os.open(photo_path, os.O_RDONLY)
    try:
        assert writer.write(7, str(tmp_path), b"a.jpg", fd,
                            Photo(Image.open(photo_path).convert("RGB")))
    finally:
        os.close(fd)
    (only,) = list((tmp_path / "cache" / "thumbnails" / "240").rglob("7-*"))
    assert _size(only.read_bytes()) == (240, 240)


def test_a_cache_that_cannot_be_written_is_no_error(tmp_path):
    (tmp_path / "cache").write_text("a file where the folder would be")
    photo_path = tmp_path / "a.jpg"
    Image.new("RGB", (640, 480)).save(photo_path)
    fd = os.open(photo_path, os.O_RDONLY)
    try:
        assert not ThumbnailWriter(tmp_path / "cache").write(
            1, str(tmp_path), b"a.jpg", fd, Photo(Image.open(photo_path).convert("RGB")))
    finally:
        os.close(fd)
