"""Recall of the dev street and crowd photos' hand-boxed faces, by size (the small-faces
test and tools/measure_small_faces.py). A detection matches a box when they overlap by a
third (intersection over union) or its centre lies in the box."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from kenning.classifiers.base import MediaFile
from kenning.media.sniff import MediaKind
from kenning.pipeline.jobs import box_overlap

SIZES = (16, 24, 32)


def matches(found, box) -> bool:
    cx, cy = found[0] + found[2] / 2, found[1] + found[3] / 2
    inside = box[0] <= cx <= box[0] + box[2] and box[1] <= cy <= box[1] + box[3]
    return inside or box_overlap(found, box) >= 1 / 3


@dataclass
class Recall:
    photos: int = 0
    boxed: int = 0
    total: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    hit: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    detections: int = 0
    unmatched: int = 0  # detections matching no box (some are faces nobody boxed)

    def share(self, size: int) -> float:
        return self.hit[size] / max(1, self.total[size])

    def lines(self) -> list[str]:
        lines = [f"photos: {self.photos}", f"boxed_faces: {self.boxed}"]
        lines += [f"recall_at_least_{s}px: {self.hit[s]}/{self.total[s]} = {self.share(s):.3f}"
                  for s in SIZES]
        lines.append(f"detections_matching_no_box: {self.unmatched} of {self.detections}")
        return lines


def crowd_recall(dev: Path, classifier) -> Recall:
    """Run the faces classifier (as `kenning index` does) on `faces/crowds`."""
    folder = dev / "faces" / "crowds"
    boxes: dict[str, list[tuple[float, ...]]] = defaultdict(list)
    with open(folder / "face_boxes.csv", newline="") as f:
        for row in csv.DictReader(f):
            x1, y1, x2, y2 = (float(row[k]) for k in ("xmin", "ymin", "xmax", "ymax"))
            boxes[row["file"]].append((x1, y1, x2 - x1, y2 - y1))
    names = sorted(boxes)
    found: dict[str, list] = {}
    for start in range(0, len(names), 8):
        part = names[start:start + 8]
        outcome = classifier.classify([MediaFile(i, folder / n, MediaKind.IMAGE, "jpeg")
                                       for i, n in enumerate(part)])
        for result in outcome.results:
            found[part[result.file_id]] = [face.box for face in result.faces]
    recall = Recall(len(names), sum(len(b) for b in boxes.values()))
    for name in names:
        detections = found.get(name, [])
        for box in boxes[name]:
            seen = any(matches(d, box) for d in detections)
            for size in SIZES:
                if min(box[2], box[3]) >= size:
                    recall.total[size] += 1
                    recall.hit[size] += seen
        recall.detections += len(detections)
        recall.unmatched += sum(not any(matches(d, box) for box in boxes[name])
                                for d in detections)
    return recall
