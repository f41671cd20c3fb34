"""The whole `kenning index` command on camera-sized photos with faces, per classifier and
all together, against the decode-only limit measured in the same run.

    .venv/bin/python bench/index_speed.py [--photos 200] [--repeat 1]

Photos: 12 MP JPEGs (4000 x 3000, quality 90, sensor-like noise) made from the dev
ImageNet photos, each with 1-3 real faces from LFW pasted in at sizes from 100 to 1,400
pixels (so that every level of the face pyramid has work), a quarter stored turned with
EXIF orientation 6. Each configuration runs `python -m kenning index` in a new process
on a new data folder, as a user would (process start and model loading included).

The decode-only limit: the same photos decoded on 2 threads at the scale the faces
classifier needs (long side >= 960: JPEG DCT scaling), turned upright, nothing else.
Face recall: the pasted faces that a stored face's centre falls in (`pasted_faces_found`).
The default classifiers also run on one photo alone: that run's time is what every run
costs before its photos (process start, imports, models), and the rate of the other
photos is what a long run approaches.
`default_decoding_in_process` is the default with `isolate_decoding = false`: the
ratio says what decoding in time-limited child processes costs.
Prints `name: value` lines; exits 1 when a target is missed:
default classifiers >= 20 photos/s and >= 0.25 of the limit, faces alone >= 15 photos/s.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from camera import save_like_a_camera
from PIL import Image, ImageOps

REPO = Path(__file__).resolve().parents[1]
DEV = REPO.parent / "shared" / "data" / "dev"
DEFAULT = "objects,faces,music,video,places,landmarks"
CONFIGS = {"objects": "objects", "faces": "faces", "default": DEFAULT,
           # decoding in this process (isolate_decoding = false): what the decoding
           # children (crash- and time-limited, the default) cost
           "default_decoding_in_process": DEFAULT}
IN_PROCESS = {"default_decoding_in_process": {"KENNING_ISOLATE_DECODING": "false"}}
FACE_LONG_SIDE = 960  # the faces classifier decodes at the smallest DCT scale giving >= 960


def make_photos(folder: Path, count: int) -> None:
    rng = np.random.default_rng(0)
    backgrounds = sorted((DEV / "imagenet_100").glob("*.JPEG"))
    faces = sorted((DEV / "faces" / "lfw_view1" / "images").rglob("*.jpg"))
    pasted = []  # file, x, y, width, height of each pasted face as the photo is shown
    for i in range(count):
        image = Image.open(backgrounds[i % len(backgrounds)]).convert("RGB").resize(
            (4000, 3000), Image.BICUBIC)
        boxes: list[tuple[int, int, int, int]] = []
        for _ in range(1 + i % 3):
            face = Image.open(faces[int(rng.integers(len(faces)))]).convert("RGB")
            # LFW frames are 150 x 150 with the face in the middle: keep it and a margin
            face = face.crop((20, 15, 130, 140))
            side = int(rng.choice([100, 180, 300, 500, 800, 1400]))
            face = face.resize((side, side * 125 // 110), Image.BICUBIC)
            for _ in range(50):  # a place where it covers no face pasted before
                x = int(rng.integers(0, 4000 - face.width))
                y = int(rng.integers(0, 3000 - face.height))
                box = (x, y, face.width, face.height)
                if not any(_overlap(box, other) for other in boxes):
                    boxes.append(box)
                    image.paste(face, (x, y))
                    pasted.append(f"IMG_{i:04d}.jpg,{x},{y},{face.width},{face.height}\n")
                    break
        save_like_a_camera(image, folder / f"IMG_{i:04d}.jpg", i, rng, noise=5)
    (folder.parent / "pasted_faces.csv").write_text("".join(pasted))


def _overlap(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def run_index(folder: Path, data_dir: Path, classifiers: str, extra: dict | None = None
              ) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KENNING_")}
    env.update(KENNING_DATA_DIR=str(data_dir), KENNING_CLASSIFIERS=classifiers,
               KENNING_WORKERS="2", **(extra or {}))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kenning", "index", str(folder), "--json"],
                          env=env, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - started
    return json.loads(done.stdout) | {"wall_seconds": seconds}


def pasted_faces_found(folder: Path, data_dir: Path) -> tuple[int, int]:
    """Pasted faces with a stored face whose centre lies in them, of all pasted faces."""
    import sqlite3

    pasted: dict[str, list[tuple[int, ...]]] = {}
    for line in (folder.parent / "pasted_faces.csv").read_text().splitlines():
        name, *box = line.split(",")
        pasted.setdefault(name, []).append(tuple(map(int, box)))
    with sqlite3.connect(data_dir / "kenning.db") as db:
        rows = db.execute("SELECT f.rel_path, faces.x, faces.y, faces.width, faces.height "
                          "FROM faces JOIN files f ON f.id = faces.file_id").fetchall()
    stored: dict[str, list[tuple[float, ...]]] = {}
    for name, *box in rows:
        stored.setdefault(name, []).append(tuple(box))
    found = sum(any(px <= x + w / 2 <= px + pw and py <= y + h / 2 <= py + ph
                    for x, y, w, h in stored.get(name, []))
                for name, boxes in pasted.items() for px, py, pw, ph in boxes)
    return found, sum(map(len, pasted.values()))


def decode_limit(paths: list[Path]) -> float:
    """Photos/s decoding each photo once, at the faces classifier's scale, on 2 threads."""
    def decode(path: Path) -> None:
        image = Image.open(path)
        ratio = min(image.size) / max(image.size)
        side = int(FACE_LONG_SIDE * ratio + 1)
        image.draft("RGB", (side, side))
        ImageOps.exif_transpose(image).load()

    started = time.perf_counter()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(decode, paths))
    return len(paths) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only", choices=sorted(CONFIGS), action="append")
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.make:
        make_photos(args.make, args.photos)
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "photos"
        folder.mkdir()
        subprocess.run([sys.executable, __file__, "--make", str(folder), "--photos",
                        str(args.photos)], check=True)
        paths = sorted(folder.glob("*.jpg"))
        print(f"photos: {len(paths)}")
        print(f"photo_size_mb: {statistics.mean(p.stat().st_size for p in paths) / 1e6:.2f}")
        rates: dict[str, list[float]] = {"decode_limit": []}
        startup: list[float] = []  # a run of the default classifiers on one photo
        beyond: list[float] = []  # the photos after the first, per second
        for attempt in range(args.repeat):
            rates["decode_limit"].append(decode_limit(paths))
            for name in args.only or CONFIGS:
                summary = run_index(folder, Path(tmp) / f"data-{name}-{attempt}", CONFIGS[name],
                                    IN_PROCESS.get(name))
                counted = summary["files"].get("image", 0)
                assert counted == len(paths), summary
                rates.setdefault(name, []).append(len(paths) / summary["wall_seconds"])
                if name == "default":  # what a run costs before its first photo
                    one = Path(tmp) / f"one-{attempt}"
                    one.mkdir()
                    shutil.copyfile(paths[0], one / paths[0].name)
                    alone = run_index(one, Path(tmp) / f"data-one-{attempt}", CONFIGS[name])
                    startup.append(alone["wall_seconds"])
                    beyond.append((len(paths) - 1)
                                  / (summary["wall_seconds"] - alone["wall_seconds"]))
                if attempt == 0:
                    print(f"{name}_processed: {json.dumps(summary['processed'])}")
                    if name == "faces":
                        found, pasted = pasted_faces_found(folder, Path(tmp) / "data-faces-0")
                        print(f"pasted_faces_found: {found} of {pasted}")
    medians = {name: statistics.median(values) for name, values in rates.items()}
    for name, rate in medians.items():
        print(f"{name}_photos_per_s: {rate:.1f}")
    if startup:
        print(f"default_one_photo_run_s: {statistics.median(startup):.2f}")
        print(f"default_photos_per_s_after_the_first: {statistics.median(beyond):.1f} "
              "(what a long run approaches)")
    limit = medians["decode_limit"]
    for name in CONFIGS:
        if name in medians:
            print(f"{name}_vs_decode_limit: {medians[name] / limit:.2f}")
    if "default" in medians and "default_decoding_in_process" in medians:
        print("decoding_children_speed_ratio: "
              f"{medians['default'] / medians['default_decoding_in_process']:.2f} "
              "(default / decoding in process)")
    ok = True
    if "default" in medians:
        ok &= medians["default"] >= 20 and medians["default"] / limit >= 0.25
    if "faces" in medians:
        ok &= medians["faces"] >= 15
    print(f"targets_met: {ok}  (default >= 20 photos/s and >= 0.25 of the decode-only "
          "limit; faces >= 15 photos/s)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
