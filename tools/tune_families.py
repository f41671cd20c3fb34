"""Tune the family tags' threshold (Architecture, Landscape: taxonomy/__init__.py) on the
dev photos (run once, by a developer).

    .venv/bin/python tools/tune_families.py [--dev ../shared/data/dev]

Positives: the 130 landmark photos (landmarks_web13). Negatives: photos that must not
reach the landmark stage: every 10th LFW portrait, the 100 ImageNet photos (animals) and
the Caltech-101 photos of food, animals, birds and people. The threshold is the least in
a grid that gives at most 1% of each negative set a family tag; it is written into
src/kenning/taxonomy/imagenet_tags.json (`family_threshold`). Prints `name: value` lines
(optimistic for the landmarks: tuned and measured on the same photos).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from tune_thresholds import class_probabilities  # noqa: E402

from kenning.classifiers.landmarks import ROUTED_TAGS  # noqa: E402
from kenning.classifiers.objects import ObjectsClassifier  # noqa: E402
from kenning.taxonomy import TAXONOMY_DIR  # noqa: E402

GRID = np.round(np.arange(0.1, 0.51, 0.05), 2)
MOST_NEGATIVES = 0.01
NEGATIVE_KINDS = {"food", "animal", "bird", "person"}


def _rows(folder: Path) -> list[dict]:
    with open(folder / "manifest.csv") as f:
        return list(csv.DictReader(f))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, default=REPO.parent / "shared" / "data" / "dev")
    args = parser.parse_args()
    classifier = ObjectsClassifier(threads=2)
    landmarks = args.dev / "landmarks_web13"
    caltech = args.dev / "caltech101_5"
    sets = {
        "landmarks": class_probabilities(classifier, [landmarks / r["file"]
                                                      for r in _rows(landmarks)]),
        "portraits": class_probabilities(classifier, sorted(
            (args.dev / "faces" / "lfw_view1" / "images").rglob("*.jpg"))[::10]),
        "imagenet": class_probabilities(classifier, [args.dev / "imagenet_100" / r["file"]
                                                     for r in _rows(args.dev / "imagenet_100")]),
        "caltech_food_animals_people": class_probabilities(classifier, [
            caltech / r["file"] for r in _rows(caltech) if r["coarse"] in NEGATIVE_KINDS]),
    }
    base = classifier.taxonomy

    def routed(taxonomy, probabilities) -> float:
        return float(np.mean([bool({n for n, _ in tags} & ROUTED_TAGS)
                              for tags in taxonomy.tags(probabilities)]))

    chosen = float(GRID[-1])
    for threshold in GRID:
        taxonomy = replace(base, family_threshold=float(threshold))
        if all(routed(taxonomy, probabilities) <= MOST_NEGATIVES
               for name, probabilities in sets.items() if name != "landmarks"):
            chosen = float(threshold)
            break
    for name, probabilities in sets.items():
        print(f"routed_{name}_before: {routed(replace(base, family_threshold=2.0), probabilities):.3f}")
        print(f"routed_{name}_after: {routed(replace(base, family_threshold=chosen), probabilities):.3f}")
    print(f"family_threshold: {chosen}")
    path = TAXONOMY_DIR / "imagenet_tags.json"
    data = json.loads(path.read_text())
    data["family_threshold"] = chosen
    path.write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    main()
