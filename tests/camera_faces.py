"""Camera-sized photos (4000 x 3000) with real faces pasted at known sizes, 100 to 1,200
pixels wide: do faces as small as 100 px in a 12 MP photo get found, as dlib's HOG
detector on the full photo finds them (issue 23)? Used by the small-faces test and
tools/measure_camera_faces.py.

Backgrounds: the dev landmark photos (places, some with people in them), enlarged to
cover 4000 x 3000. Faces: LFW photos (the 250 x 250 frame, here at 150 x 150; YuNet's
face box is a median 0.385 of the frame wide, at (0.317, 0.257), 0.504 high), the middle
60% of the frame scaled so that the face is the size wanted. Each photo
gets two faces of two of the sizes, in turn, so every size has as many faces. A detection
finds a face when its centre lies in the face's box (crowd_faces.matches).
"""

from __future__ import annotations

import csv
import random
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from crowd_faces import matches
from PIL import Image

from kenning.classifiers.base import MediaFile
from kenning.media.sniff import MediaKind

SIZES = (100, 150, 200, 300, 600, 1200)
WIDTH, HEIGHT = 4000, 3000
FACE = (0.317, 0.257, 0.385, 0.504)  # an LFW photo's face (x, y, w, h), of its frame
CROP = (0.2, 0.2, 0.8, 0.8)  # what is pasted: the face and the head around it


@dataclass
class Pasted:
    path: Path
    faces: list[tuple[int, tuple[float, float, float, float]]]  # (size, box)


def build(dev: Path, dest: Path, photos: int = 50, seed: int = 23) -> list[Pasted]:
    """Write the photos into `dest` (kept: a second call reuses them)."""
    rng = random.Random(seed)
    landmarks = dev / "landmarks_web13"
    with open(landmarks / "manifest.csv", newline="") as f:
        backgrounds = [landmarks / row["file"] for row in csv.DictReader(f)]
    lfw = dev / "faces" / "lfw_view1"
    with open(lfw / "manifest.csv", newline="") as f:
        people = [lfw / row["file"] for row in csv.DictReader(f)]
    rng.shuffle(backgrounds)
    rng.shuffle(people)
    dest.mkdir(parents=True, exist_ok=True)
    made = []
    for index in range(photos):
        sizes = [SIZES[(2 * index) % len(SIZES)], SIZES[(2 * index + 1) % len(SIZES)]]
        path = dest / f"camera_{index:03d}.jpg"
        faces = []
        for number, size in enumerate(sizes):
            scale = size / FACE[2]  # pixels per frame width
            side = round((CROP[2] - CROP[0]) * scale)
            # One face in each half of the photo, so that they never overlap.
            half = WIDTH // 2
            x = number * half + rng.randrange(0, half - side)
            y = rng.randrange(0, HEIGHT - side)
            box = (x + (FACE[0] - CROP[0]) * scale, y + (FACE[1] - CROP[1]) * scale,
                   FACE[2] * scale, FACE[3] * scale)
            faces.append((size, box, people[2 * index + number], (x, y, side)))
        if not path.exists():
            with Image.open(backgrounds[index % len(backgrounds)]) as opened:
                back = opened.convert("RGB")
            cover = max(WIDTH / back.width, HEIGHT / back.height)
            back = back.resize((round(back.width * cover), round(back.height * cover)),
                               Image.Resampling.BICUBIC)
            left, top = (back.width - WIDTH) // 2, (back.height - HEIGHT) // 2
            photo = back.crop((left, top, left + WIDTH, top + HEIGHT))
            for _size, _box, person, (x, y, side) in faces:
                with Image.open(person) as face:
                    frame = face.size[0]
                    head = face.convert("RGB").crop(tuple(round(c * frame) for c in CROP))
                    head = head.resize((side, side), Image.Resampling.BICUBIC)
                photo.paste(head, (x, y))
            photo.save(path, quality=90)
        made.append(Pasted(path, [(size, box) for size, box, _p, _at in faces]))
    return made


@dataclass
class CameraRecall:
    photos: int = 0
    total: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    hit: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    seconds: float = 0.0

    def share(self, size: int) -> float:
        return self.hit[size] / max(1, self.total[size])

    def lines(self) -> list[str]:
        found, faces = sum(self.hit.values()), sum(self.total.values())
        lines = [f"photos: {self.photos}", f"faces_found: {found}/{faces}"]
        lines += [f"found_at_{s}px: {self.hit[s]}/{self.total[s]} = {self.share(s):.3f}"
                  for s in SIZES]
        lines.append(f"seconds_per_photo: {self.seconds / max(1, self.photos):.3f}")
        return lines


def camera_recall(photos: list[Pasted], classifier) -> CameraRecall:
    """Run the faces classifier (as `kenning index` does) on the photos."""
    recall = CameraRecall(photos=len(photos))
    for start in range(0, len(photos), 4):
        part = photos[start:start + 4]
        began = time.perf_counter()
        outcome = classifier.classify([MediaFile(i, p.path, MediaKind.IMAGE, "jpeg")
                                       for i, p in enumerate(part)])
        recall.seconds += time.perf_counter() - began
        for result in outcome.results:
            found = [face.box for face in result.faces]
            for size, box in part[result.file_id].faces:
                recall.total[size] += 1
                recall.hit[size] += any(matches(f, box) for f in found)
    return recall
