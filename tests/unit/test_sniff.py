"""The media kind comes from the content, whatever the file is called."""

from __future__ import annotations

import shutil
import wave

import numpy as np
import pytest
from conftest import DEV, IMAGENET
from media_factory import save_photo, write_audio, write_video

from kenning.media.sniff import MediaKind, claimed_kind, read_head, sniff_bytes

PHOTO = IMAGENET / "n01530575_brambling.JPEG"


@pytest.mark.parametrize("fmt, expected", [
    ("JPEG", "jpeg"), ("PNG", "png"), ("WEBP", "webp"), ("GIF", "gif"), ("BMP", "bmp"),
    ("TIFF", "tiff"), ("HEIF", "heif"), ("AVIF", "avif"),
])
def test_photos_are_recognised_by_content_even_when_misnamed(tmp_path, fmt, expected):
    path = save_photo(PHOTO, tmp_path / "holiday.txt", fmt, size=64)
    sniffed = sniff_bytes(read_head(path))
    assert (sniffed.kind, sniffed.format) == (MediaKind.IMAGE, expected)


@pytest.mark.parametrize("name, container, codec, expected", [
    ("clip.mp4", "mp4", "libx264", "mp4"),
    ("clip.mov", "mov", "libx264", "mov"),
    ("clip.mkv", "matroska", "hevc", "mkv"),
    ("clip.webm", "webm", "libvpx-vp9", "webm"),
    ("clip.avi", "avi", "mpeg4", "avi"),
    ("clip.ts", "mpegts", "libx264", "mpegts"),
    ("clip.mpg", "mpeg", "mpeg2video", "mpeg"),
])
def test_video_containers(tmp_path, name, container, codec, expected):
    path = write_video(tmp_path / name, container, codec)
    sniffed = sniff_bytes(read_head(path))
    assert (sniffed.kind, sniffed.format) == (MediaKind.VIDEO, expected)


@pytest.mark.parametrize("name, container, codec, expected", [
    ("song.mp3", "mp3", "libmp3lame", "mp3"),
    ("song.m4a", "ipod", "aac", "m4a"),
    ("song.ogg", "ogg", "libopus", "ogg"),
    ("song.opus", "opus", "libopus", "ogg"),
    ("song.flac", "flac", "flac", "flac"),
    ("song.wav", "wav", "pcm_s16le", "wav"),
])
def test_audio_containers(tmp_path, name, container, codec, expected):
    path = write_audio(tmp_path / name, container, codec)
    sniffed = sniff_bytes(read_head(path))
    assert (sniffed.kind, sniffed.format) == (MediaKind.AUDIO, expected)


def test_dev_videos_and_music_are_recognised():
    videos = [p for p in (DEV / "video").rglob("*") if p.suffix.lower() in (".mp4", ".avi")]
    assert videos
    for path in videos:
        assert sniff_bytes(read_head(path)).kind == MediaKind.VIDEO, path
    gif = next((DEV / "video").rglob("*.gif"))
    assert sniff_bytes(read_head(gif)).format == "gif"
    song = next((DEV / "music_gtzan_20").rglob("*.wav"))
    assert sniff_bytes(read_head(song)).kind == MediaKind.AUDIO


def test_text_and_random_bytes_are_not_media(tmp_path):
    assert sniff_bytes(b"hello, this is a note\n" * 10) is None
    assert sniff_bytes(b"") is None
    assert sniff_bytes(np.random.default_rng(1).bytes(512).replace(b"\xff", b"\x00")) is None


def test_wav_written_by_the_standard_library(tmp_path):
    path = tmp_path / "memo.bin"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(8000)
        w.writeframes(b"\0\0" * 800)
    assert sniff_bytes(read_head(path)).format == "wav"


def test_extension_only_explains_a_mismatch(tmp_path):
    assert claimed_kind(b"IMG_0001.JPG") == MediaKind.IMAGE
    assert claimed_kind("film.MKV") == MediaKind.VIDEO
    assert claimed_kind("notes.txt") is None
    shutil.copy(PHOTO, tmp_path / "x.mp3")
    assert sniff_bytes(read_head(tmp_path / "x.mp3")).kind == MediaKind.IMAGE
