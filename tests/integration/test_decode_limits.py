"""The same decoding bounds and time limit wherever photos are processed: `kenning
index`, `serve`'s background processing and `kenning worker`s. A progressive JPEG of
2,000 empty scans (75 s of decoding before) is refused from its header; a photo within
the bounds that takes longer than `decode_timeout` fails alone, with the reason; the
other photos are done."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from conftest import IMAGENET
from media_factory import progressive_scan_bomb
from test_distributed import distributed, redis, work_rows  # noqa: F401 - fixtures

NORMAL = sorted(IMAGENET.glob("*.JPEG"))[:5]
TIMEOUT = "0.5"  # seconds a photo; the slow one takes about 1 s


def hostile_library(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for source in NORMAL:
        shutil.copyfile(source, folder / source.name)
    progressive_scan_bomb(folder / "bomb.jpg")
    progressive_scan_bomb(folder / "slow.jpg", side=8000, scans=235)
    return folder


def assert_failed_alone(failed: dict[str, str]) -> None:
    """`failed`: file name -> reason, for everything that failed."""
    assert set(failed) == {"bomb.jpg", "slow.jpg"}, failed
    assert "too many progressive scans" in failed["bomb.jpg"]
    assert "decoding took more than 0.5 s" in failed["slow.jpg"]


def test_index_bounds_decoding_and_times_it(kenning, tmp_path):
    library = hostile_library(tmp_path / "photos")
    kenning.env.update(KENNING_CLASSIFIERS="objects", KENNING_DECODE_TIMEOUT=TIMEOUT)
    started = time.monotonic()
    run = kenning("index", library, "--json").json()
    assert time.monotonic() - started < 60
    assert run["processed"] == {"objects": len(NORMAL)}
    assert_failed_alone({Path(f["path"]).name: f["reason"] for f in run["failed"]})


def test_a_busy_machine_fails_no_photo_for_the_decoders_start(kenning, tmp_path):
    """Three processes keep both cores busy while `kenning index` runs with a 0.5 s
    limit: a decoding child that starts slowly (Python, the decoders, the model's set-up)
    costs no photo its time. Before, each child's start counted against the first file
    sent to it, every file was "decoding took more than 0.5 s", and each failure started
    another slow child: all 7 files failed."""
    import subprocess
    import sys

    library = hostile_library(tmp_path / "photos")
    kenning.env.update(KENNING_CLASSIFIERS="objects", KENNING_DECODE_TIMEOUT=TIMEOUT)
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"])
               for _ in range(3)]
    try:
        run = kenning("index", library, "--json").json()
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert run["processed"] == {"objects": len(NORMAL)}, run["failed"]
    assert_failed_alone({Path(f["path"]).name: f["reason"] for f in run["failed"]})


def test_serve_processing_bounds_decoding_and_times_it(tmp_path):
    from server_support import start_server

    server = start_server(tmp_path, classifiers="objects",
                          extra_env={"KENNING_DECODE_TIMEOUT": TIMEOUT},
                          more_files=lambda libraries: hostile_library(libraries["bob"]))
    try:
        status = server.wait_idle("bob", timeout=120)
        assert_failed_alone({Path(f["path"]).name: f["reason"]
                             for f in status["failed_files"]})
        started = time.monotonic()
        with server.client("alice") as http:
            assert http.get("/api/health").status_code == 200
        assert time.monotonic() - started < 1.0
    finally:
        server.stop()


def test_workers_bound_decoding_and_time_it(kenning, tmp_path, distributed):  # noqa: F811
    library = hostile_library(tmp_path / "photos")
    kenning.env.update(KENNING_CLASSIFIERS="objects", KENNING_DECODE_TIMEOUT=TIMEOUT)
    distributed(1, KENNING_DECODE_TIMEOUT=TIMEOUT)
    run = kenning("index", library, "--json").json()
    assert run["processed"] == {"objects": len(NORMAL)}
    assert_failed_alone({Path(f["path"]).name: f["reason"] for f in run["failed"]})
    states = sorted(r[2] for r in work_rows(kenning.env["KENNING_DATABASE_URL"]))
    assert states == ["done"] * len(NORMAL) + ["failed"] * 2
