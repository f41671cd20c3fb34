"""Photos/s for scan + decode + objects on 12-megapixel JPEGs, against a straightforward baseline.

    .venv/bin/python bench/objects_speed.py [--photos 40]

Kenning's path: `index_folder` (scan with content hashes, JPEG DCT-scaled decoding, EXIF
orientation, batches of 8 on a LocalExecutor with 2 workers, ONNX Runtime 1 thread each).
Baseline, same process, same model: full-size decode, EXIF orientation, resize, batch 1,
ONNX Runtime with 2 threads. Prints `name: value` lines.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from camera import save_like_a_camera
from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
DEV = REPO.parent / "shared" / "data" / "dev" / "imagenet_100"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_camera_photos(folder: Path, count: int) -> list[Path]:
    """12 MP JPEGs at quality 90 with sensor-like noise; every fourth stored turned, with
    EXIF orientation 6, as phones do."""
    rng = np.random.default_rng(0)
    sources = sorted(DEV.glob("*.JPEG"))
    paths = []
    for i in range(count):
        image = Image.open(sources[i % len(sources)]).convert("RGB").resize((4000, 3000),
                                                                           Image.BICUBIC)
        path = folder / f"IMG_{i:04d}.jpg"
        save_like_a_camera(image, path, i, rng, noise=6)
        paths.append(path)
    return paths


def run_kenning(folder: Path, data_dir: Path) -> tuple[float, int]:
    from kenning.config import load_settings
    from kenning.db import Database
    from kenning.pipeline.indexer import index_folder

    settings = load_settings(data_dir, workers=2, batch_size=8, classifiers=("objects",))
    db = Database(settings.db_url)
    started = time.perf_counter()
    report = index_folder(settings, db, folder)
    return time.perf_counter() - started, report.processed["objects"]


def run_baseline(paths: list[Path]) -> float:
    from kenning.media.images import crop_box
    from kenning.models.runtime import find_model, open_session

    spec = find_model("efficientnet_lite2")
    session = open_session(spec, threads=2)
    size = spec.input_size
    started = time.perf_counter()
    for path in paths:
        image = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        pixels = image.resize((size, size), Image.BICUBIC, box=crop_box(*image.size, size))
        session.run(None, {"pixels": np.asarray(pixels)[None]})
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:  # in a child process, so that making photos does not count in peak RSS
        make_camera_photos(args.make, args.photos)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        subprocess.run([sys.executable, __file__, "--make", str(folder),
                        "--photos", str(args.photos)], check=True)
        paths = sorted(folder.glob("*.jpg"))
        mean_mb = statistics.mean(p.stat().st_size for p in paths) / 1e6
        rss_before = peak_rss_mb()
        kenning_rates, baseline_rates = [], []
        for attempt in range(args.repeat):
            seconds, done = run_kenning(folder, Path(tmp) / f"data{attempt}")
            assert done == len(paths), done
            kenning_rates.append(len(paths) / seconds)
        rss_kenning = peak_rss_mb()
        for _ in range(args.repeat):
            baseline_rates.append(len(paths) / run_baseline(paths))
    kenning_rate = statistics.median(kenning_rates)
    baseline_rate = statistics.median(baseline_rates)
    print(f"photos: {len(paths)}")
    print(f"photo_size_mb: {mean_mb:.2f}")
    print(f"kenning_photos_per_s: {kenning_rate:.1f}")
    print(f"baseline_photos_per_s: {baseline_rate:.1f}")
    print(f"speedup: {kenning_rate / baseline_rate:.2f}")
    print(f"peak_rss_mb_before_index: {rss_before:.0f}")
    print(f"peak_rss_mb_after_index: {rss_kenning:.0f}")
    ok = kenning_rate >= 15 and kenning_rate / baseline_rate >= 3 and rss_kenning <= 1024
    print(f"targets_met: {ok}  (>= 15 photos/s, >= 3x baseline, peak RSS <= 1024 MB)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
