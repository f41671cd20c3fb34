"""Tune per-tag thresholds on the labelled dev images (run once, by a developer).

    .venv/bin/python tools/tune_thresholds.py [--data ../shared/data/dev/imagenet_100]

Each image's true tags are the taxonomy tags of its ImageNet class. For every tag with
examples in the dev data, the threshold is the one in a grid that maximises F0.5
(precision counts twice: a tag should fire only when it is likely right), kept within
[0.3, 0.8] and at least 0.2 above the tag's share of the 1000 classes (a flat, unsure
prediction gives "Animal", which covers 398 classes, a score of 0.4). Tags without dev examples get the median tuned threshold. Thresholds are
written into src/kenning/taxonomy/imagenet_tags.json; the micro precision/recall on the
dev data is printed (optimistic: tuned and measured on the same 100 images).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from kenning.classifiers.base import MediaFile
from kenning.classifiers.objects import ObjectsClassifier
from kenning.media.sniff import MediaKind
from kenning.taxonomy import TAXONOMY_DIR, imagenet_taxonomy

GRID = np.round(np.arange(0.15, 0.91, 0.05), 2)
LOW, HIGH = 0.3, 0.8


def dev_scores(data: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images, tags) predicted scores and (images, tags) truth."""
    with open(data / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    classifier = ObjectsClassifier()
    files = [MediaFile(i, data / r["file"], MediaKind.IMAGE, "jpeg") for i, r in enumerate(rows)]
    prepared = classifier.prepare(files)
    assert not prepared.failures, prepared.failures
    probabilities = classifier.infer(prepared)
    taxonomy = classifier.taxonomy
    truth = taxonomy.membership[[int(r["class_index"]) for r in rows]] > 0
    return taxonomy.tag_scores(probabilities), truth


def f_half(scores: np.ndarray, truth: np.ndarray, threshold: float) -> float:
    fired = scores >= threshold
    tp = float(np.sum(fired & truth))
    if tp == 0:
        return 0.0
    precision, recall = tp / fired.sum(), tp / truth.sum()
    return 1.25 * precision * recall / (0.25 * precision + recall)


def tune(scores: np.ndarray, truth: np.ndarray, names: tuple[str, ...],
         coverage: np.ndarray) -> dict[str, float]:
    tuned: dict[str, float] = {}
    for column, name in enumerate(names):
        if not truth[:, column].any():
            continue
        values = [f_half(scores[:, column], truth[:, column], t) for t in GRID]
        best = max(range(len(GRID)), key=lambda i: (values[i], GRID[i]))
        tuned[name] = float(np.clip(GRID[best], LOW, HIGH))
    default = float(np.median(list(tuned.values())))
    floor = {name: round(float(coverage[i]) + 0.2, 2) for i, name in enumerate(names)}
    return {name: max(tuned.get(name, default), floor[name]) for name in names}


def micro(scores, truth, thresholds) -> tuple[float, float]:
    fired = scores >= thresholds
    tp = float(np.sum(fired & truth))
    return tp / max(1, fired.sum()), tp / max(1, truth.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared/data/dev/imagenet_100")
    args = parser.parse_args()
    scores, truth = dev_scores(args.data)
    taxonomy = imagenet_taxonomy()
    names = taxonomy.tag_names
    coverage = taxonomy.membership.mean(axis=0)
    thresholds = tune(scores, truth, names, coverage)
    vector = np.array([thresholds[n] for n in names])
    before = micro(scores, truth, np.full(len(names), 0.5))
    after = micro(scores, truth, vector)
    path = TAXONOMY_DIR / "imagenet_tags.json"
    data = json.loads(path.read_text())
    data["thresholds"] = thresholds
    data["thresholds_source"] = ("tools/tune_thresholds.py on shared/data/dev/imagenet_100: "
                                 "max F0.5 per tag, clamped to [0.3, 0.8]")
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"tags tuned on dev examples: {int(truth.any(axis=0).sum())} of {len(names)}")
    print(f"default threshold (median): {np.median(vector):.2f}")
    print(f"dev micro precision/recall at 0.5: {before[0]:.3f} / {before[1]:.3f}")
    print(f"dev micro precision/recall tuned:  {after[0]:.3f} / {after[1]:.3f}")


if __name__ == "__main__":
    main()
