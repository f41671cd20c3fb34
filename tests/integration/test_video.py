"""Videos from `kenning index`: actions with the optional MoViNet model installed the way a
user would, objects and faces on keyframes, music in the soundtrack, every common format,
and broken, audio-only and very long videos."""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import threading
import time

import pytest
from conftest import DEV, IMAGENET, MUSIC, REPO
from media_factory import read_audio, write_photo_video

MOVINET = REPO.parent / "shared" / "models" / "movinet_a0_stream_kinetics600"
VIDEOS = DEV / "video"
FISH = IMAGENET / "n01443537_goldfish.JPEG"
BIDEN = DEV / "faces/face_recognition_examples/examples/knn_examples/train/biden"


def tags_of(kenning, path, source="video") -> dict[str, float]:
    listing = kenning("tags", path, "--json").json()
    return {t["tag"]: t["score"] for t in listing["tags"] if t["source"] == source}


@pytest.fixture
def http_folder(tmp_path):
    """A local HTTP server for a folder, as a download site would be."""
    root = tmp_path / "site"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_install_movinet_and_tag_actions(kenning, tmp_path, http_folder):
    listed = {m["name"]: m for m in kenning("models", "--json").json()["models"]}
    assert listed["movinet_a0_stream_kinetics600"]["state"] == "not installed"
    assert listed["musicnn_msd"]["state"] == "built in"
    # The exact file to get: its name, size and checksum are those of Google's file.
    wanted = listed["movinet_a0_stream_kinetics600"]
    official = MOVINET / "movinet_a0_stream_int8.tflite"
    assert wanted["file"] == official.name and wanted["size"] == official.stat().st_size
    assert wanted["sha256"] == hashlib.sha256(official.read_bytes()).hexdigest()
    assert f"--from {official.name}" in kenning("models").stdout

    site, url = http_folder
    shutil.copy(MOVINET / "movinet_a0_stream_int8.tflite", site / "movinet.tflite")
    (site / "impostor.tflite").write_bytes(b"\0\0\0\0TFL3" + b"\0" * 1000)
    bad = kenning("models", "install", "movinet_a0_stream_kinetics600", "--from",
                  f"{url}/impostor.tflite", check=False)
    assert bad.code == 1 and "sha256" in bad.stderr
    missing = kenning("models", "install", "movinet_a0_stream_kinetics600", "--from",
                      f"{url}/nothing.tflite", check=False)
    assert missing.code == 1 and "cannot download" in missing.stderr
    kenning("models", "install", "movinet_a0_stream_kinetics600", "--from", f"{url}/movinet.tflite")
    listed = {m["name"]: m for m in kenning("models", "--json").json()["models"]}
    assert listed["movinet_a0_stream_kinetics600"]["state"].startswith("installed")

    library = tmp_path / "Videos"
    library.mkdir()
    shutil.copy(MOVINET / "carving_ice.mp4", library)
    shutil.copy(VIDEOS / "mmaction2/demo.mp4", library / "arm wrestling.mp4")
    shutil.copy(VIDEOS / "i3d/v_CricketShot_g04_c01_rgb.gif", library / "cricket.gif")
    run = kenning("index", library)
    assert "XNNPACK" not in run.stderr
    for name, action in [("carving_ice.mp4", "Carving ice"), ("arm wrestling.mp4", "Arm wrestling"),
                         ("cricket.gif", "Playing cricket")]:
        tags = tags_of(kenning, library / name)
        assert max(tags, key=tags.get) == action, (name, tags)
    assert kenning("tags", library / "cricket.gif", "--json").json()["kind"] == "video"


@pytest.mark.parametrize("name,container,codec,options", [
    ("fish.mp4", "mp4", "libx264", None),
    ("fish.mov", "mov", "libx265", {"x265-params": "log-level=error"}),
    ("fish.mkv", "matroska", "libvpx-vp9", None),
    ("fish.webm", "webm", "libsvtav1", None),
    ("fish.avi", "avi", "mpeg4", None),
    ("fish.ts", "mpegts", "mpeg2video", None),
])
def test_keyframe_objects_in_every_format(kenning, tmp_path, name, container, codec, options):
    kenning.env["KENNING_CLASSIFIERS"] = "video"
    library = tmp_path / "Videos"
    library.mkdir()
    write_photo_video(library / name, FISH, container, codec, options=options)
    kenning("index", library)
    assert "Fish" in tags_of(kenning, library / name)


def test_soundtrack_music_and_faces_in_video(kenning, tmp_path):
    library = tmp_path / "Library"
    library.mkdir()
    shutil.copy(BIDEN / "biden.jpg", library / "biden photo.jpg")
    shutil.copy(BIDEN / "biden2.jpg", library / "biden photo 2.jpg")
    write_photo_video(library / "biden speech.mp4", BIDEN / "biden2.jpg", "mp4", "libx264",
                      seconds=12, width=480,
                      audio=read_audio(MUSIC / "jazz.00001.wav", 44_100))
    kenning("index", library)
    assert "Jazz" in tags_of(kenning, library / "biden speech.mp4", source="music")
    in_video = kenning("tags", library / "biden speech.mp4", "--json").json()["faces"]
    in_photo = kenning("tags", library / "biden photo 2.jpg", "--json").json()["faces"]
    assert 1 <= len(in_video) <= len(in_photo), (in_video, in_photo)  # 6 keyframes, each once
    biden = kenning("tags", library / "biden photo.jpg", "--json").json()["faces"][0]["person"]
    assert biden is not None
    photos = kenning("people", "photos", str(biden), "--json").json()["files"]
    assert "biden speech.mp4" in {p.rsplit("/", 1)[-1] for p in photos}


def test_broken_audio_only_and_long_videos(kenning, tmp_path):
    kenning.env["KENNING_CLASSIFIERS"] = "video,music"
    library = tmp_path / "Videos"
    library.mkdir()
    whole = write_photo_video(tmp_path / "whole.mp4", FISH, "mp4", "libx264", seconds=4)
    data = whole.read_bytes()
    (library / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (library / "zero.mp4").write_bytes(b"")
    (library / "corrupt.mkv").write_bytes(b"\x1a\x45\xdf\xa3" + bytes(range(256)) * 64)
    write_photo_video(library / "two hours.mp4", FISH, "mp4", "libx264", seconds=7200, fps=1,
                      width=64, options={"preset": "ultrafast", "g": "600"})
    from media_factory import write_audio

    write_audio(library / "sound only.mp4", "mp4", "aac", rate=44_100,
                samples=read_audio(MUSIC / "jazz.00000.wav", 44_100))
    started = time.monotonic()
    run = kenning("index", library)
    assert time.monotonic() - started < 120
    listed = kenning("status", "--failed", "--json").json()["failed_files"]
    failed = {f["path"].rsplit("/", 1)[-1] for f in listed}
    assert {"zero.mp4", "corrupt.mkv"} <= failed, listed
    assert "two hours.mp4" not in failed and "sound only.mp4" not in failed
    assert all(f["reason"] for f in listed)
    assert run.code == 0
    long = kenning("tags", library / "two hours.mp4", "--json").json()
    assert {"label": "keyframes", "classifier": "video", "score": 8.0} in long["labels"]
    sound_only = kenning("tags", library / "sound only.mp4", "--json").json()
    assert "Jazz" in {t["tag"] for t in sound_only["tags"]}


PETS = DEV / "nonhuman_faces" / "pets" / "dataset" / "test_set" / "dogs"


def test_pictures_tag_people_but_not_pets(kenning, tmp_path):
    """With no action model installed, the dev clips with people get People from their
    pictures (arm wrestling: faces in three keyframes, none good enough to keep), and a
    video of dogs gets neither People nor faces; a girl beside her dog is still a person."""
    kenning.env["KENNING_CLASSIFIERS"] = "video,faces"
    library = tmp_path / "Videos"
    library.mkdir()
    shutil.copy(VIDEOS / "mmaction2" / "demo.mp4", library / "arm wrestling.mp4")
    shutil.copy(VIDEOS / "mmaction2" / "S001C001P001R001A001_rgb.avi", library / "drink.avi")
    for name in ("dog.4569.jpg", "dog.4143.jpg", "dog.4760.jpg"):
        write_photo_video(library / f"{name}.mp4", PETS / name, "mp4", "libx264", seconds=6,
                          width=480)
    kenning("index", library)

    def people(name: str) -> bool:
        listing = kenning("tags", library / name, "--json").json()
        return "People" in {t["tag"] for t in listing["tags"]}

    assert people("arm wrestling.mp4") and people("drink.avi")
    for dogs in ("dog.4569.jpg.mp4", "dog.4143.jpg.mp4"):
        assert not people(dogs), dogs
        assert kenning("tags", library / dogs, "--json").json()["faces"] == []
    assert people("dog.4760.jpg.mp4")
