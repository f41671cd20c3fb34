"""Tune per-tag thresholds on the labelled dev images (run once, by a developer).

    .venv/bin/python tools/tune_thresholds.py [--dev ../shared/data/dev]

Each ImageNet dev image's true tags are the taxonomy tags of its ImageNet class. LFW's
portraits add hard negatives for the tags that cannot be in a portrait (those whose
classes are all animals, plants, food, vehicles or landforms: ImageNet's "tench" photos
show anglers, so people otherwise come out as "Animal"). For every tag with examples in
the dev data, the threshold is the one in a grid that maximises F0.5
(precision counts twice: a tag should fire only when it is likely right), kept within
[0.3, 0.8] and at least 0.2 above the tag's share of the 1000 classes (a flat, unsure
prediction gives "Animal", which covers 398 classes, a score of 0.4). A tag with no
positive examples gets the median tuned threshold, raised until at most 0.2% of the
portraits get it if it is a tag that cannot be in a portrait. Tags without dev examples get the median tuned threshold. Thresholds are
written into src/kenning/taxonomy/imagenet_tags.json, with `top1_sure`: the least top-1
probability from which a class gives all its tags (tune_top1). The micro precision/recall
on the dev data is printed (optimistic: tuned and measured on the same 100 images).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from kenning.classifiers.base import MediaFile
from kenning.classifiers.objects import ObjectsClassifier
from kenning.media.sniff import MediaKind
from kenning.taxonomy import TAXONOMY_DIR

sys.path.insert(0, str(Path(__file__).resolve().parent))
from build_taxonomy import ancestors, read_wordnet  # noqa: E402

GRID = np.round(np.arange(0.15, 0.91, 0.05), 2)
TOP1_GRID = np.round(np.arange(0.3, 0.91, 0.05), 2)
LOW, HIGH = 0.3, 0.8


PORTRAIT_ABSENT_ROOTS = {"n00004475", "n00021265", "n07555863", "n03100490", "n09287968"}
PERSON = "n00007846"
PORTRAIT_STEP = 4  # every 4th LFW image: ~1,250 portraits
MAX_PORTRAIT_RATE = 0.002


def class_probabilities(classifier: ObjectsClassifier, paths: list[Path]) -> np.ndarray:
    files = [MediaFile(i, p, MediaKind.IMAGE, "jpeg") for i, p in enumerate(paths)]
    probabilities = []
    for start in range(0, len(files), 64):
        prepared = classifier.prepare(files[start:start + 64])
        assert not prepared.failures, prepared.failures
        probabilities.append(classifier.infer(prepared))
    return np.concatenate(probabilities)


def imagenet_probabilities(classifier, data: Path) -> tuple[np.ndarray, np.ndarray]:
    """(images, classes) probabilities and (images, tags) truth."""
    with open(data / "manifest.csv") as f:
        rows = list(csv.DictReader(f))
    truth = classifier.taxonomy.membership[[int(r["class_index"]) for r in rows]] > 0
    return class_probabilities(classifier, [data / r["file"] for r in rows]), truth


def portrait_probabilities(classifier, data: Path) -> np.ndarray:
    with open(data / "manifest.csv") as f:
        rows = list(csv.DictReader(f))[::PORTRAIT_STEP]
    return class_probabilities(classifier, [data / r["file"] for r in rows])


def tune_top1(taxonomy, dev: np.ndarray, truth: np.ndarray, portraits: np.ndarray,
              absent: np.ndarray) -> float:
    """The least top-1 probability that may give its class's tags (taxonomy.decide)
    without one more wrong tag on the dev photos nor one more portrait given a tag that
    cannot be in a portrait, than the thresholds alone."""
    def wrong(top1: float) -> tuple[int, int]:
        decided = replace(taxonomy, top1_sure=top1)
        fired_dev = decided.decide(dev)[1]
        fired_portraits = decided.decide(portraits)[1]
        return (int((fired_dev & ~truth).sum()),
                int(fired_portraits[:, absent].any(axis=1).sum()))

    baseline = wrong(2.0)
    for top1 in TOP1_GRID:
        if wrong(top1) <= baseline and all(wrong(t) <= baseline for t in TOP1_GRID
                                           if t > top1):
            return float(top1)
    return 2.0


def portrait_absent_tags(taxonomy) -> np.ndarray:
    """(tags,) True where every class of the tag is an animal, plant, food, vehicle or
    landform, and none is a person."""
    synsets = read_wordnet()
    roots = [set(ancestors(wnid, synsets)) | {wnid} for wnid in taxonomy.wnids]
    absent_class = np.array([bool(r & PORTRAIT_ABSENT_ROOTS) and PERSON not in r for r in roots])
    members = taxonomy.membership > 0
    return np.array([bool(members[:, t].any()) and bool(absent_class[members[:, t]].all())
                     for t in range(members.shape[1])])


def f_half(scores: np.ndarray, truth: np.ndarray, threshold: float) -> float:
    fired = scores >= threshold
    tp = float(np.sum(fired & truth))
    if tp == 0:
        return 0.0
    precision, recall = tp / fired.sum(), tp / truth.sum()
    return 1.25 * precision * recall / (0.25 * precision + recall)


def tune(scores: np.ndarray, truth: np.ndarray, portraits: np.ndarray, absent: np.ndarray,
         names: tuple[str, ...], coverage: np.ndarray) -> dict[str, float]:
    tuned: dict[str, float] = {}
    for column, name in enumerate(names):
        if not truth[:, column].any():
            continue
        column_scores, column_truth = scores[:, column], truth[:, column]
        if absent[column]:
            column_scores = np.concatenate([column_scores, portraits[:, column]])
            column_truth = np.concatenate([column_truth, np.zeros(len(portraits), bool)])
        values = [f_half(column_scores, column_truth, t) for t in GRID]
        best = max(range(len(GRID)), key=lambda i: (values[i], GRID[i]))
        tuned[name] = float(np.clip(GRID[best], LOW, HIGH))
    default = float(np.median(list(tuned.values())))
    thresholds = {}
    for column, name in enumerate(names):
        threshold = max(tuned.get(name, default), round(float(coverage[column]) + 0.2, 2))
        if name not in tuned and absent[column]:
            rates = [(portraits[:, column] >= t).mean() for t in GRID]
            allowed = [t for t, rate in zip(GRID, rates, strict=True) if rate <= MAX_PORTRAIT_RATE]
            threshold = max(threshold, float(allowed[0]) if allowed else HIGH)
        thresholds[name] = threshold
    return thresholds


def micro(scores, truth, thresholds) -> tuple[float, float]:
    fired = scores >= thresholds
    tp = float(np.sum(fired & truth))
    return tp / max(1, fired.sum()), tp / max(1, truth.sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared/data/dev")
    args = parser.parse_args()
    classifier = ObjectsClassifier(threads=2)
    taxonomy = classifier.taxonomy
    dev, truth = imagenet_probabilities(classifier, args.dev / "imagenet_100")
    portrait_classes = portrait_probabilities(classifier, args.dev / "faces" / "lfw_view1")
    scores, portraits = taxonomy.tag_scores(dev), taxonomy.tag_scores(portrait_classes)
    absent = portrait_absent_tags(taxonomy)
    names = taxonomy.tag_names
    coverage = taxonomy.membership.mean(axis=0)
    thresholds = tune(scores, truth, portraits, absent, names, coverage)
    vector = np.array([thresholds[n] for n in names])
    before = micro(scores, truth, np.full(len(names), 0.5))
    after = micro(scores, truth, vector)
    wrong_before = (portraits[:, absent] >= 0.5).any(axis=1).mean()
    wrong_after = (portraits[:, absent] >= vector[absent]).any(axis=1).mean()
    top1 = tune_top1(replace(taxonomy, thresholds=vector.astype(np.float32)), dev, truth,
                     portrait_classes, absent)
    path = TAXONOMY_DIR / "imagenet_tags.json"
    data = json.loads(path.read_text())
    data["thresholds"] = thresholds
    data["top1_sure"] = top1
    data["thresholds_source"] = ("tools/tune_thresholds.py on shared/data/dev/imagenet_100 "
                                 "and LFW portraits as hard negatives: max F0.5 per tag, "
                                 "clamped to [0.3, 0.8]")
    path.write_text(json.dumps(data, indent=1) + "\n")
    print(f"tags tuned on dev examples: {int(truth.any(axis=0).sum())} of {len(names)}")
    print(f"default threshold (median): {np.median(vector):.2f}")
    print(f"dev micro precision/recall at 0.5: {before[0]:.3f} / {before[1]:.3f}")
    print(f"dev micro precision/recall tuned:  {after[0]:.3f} / {after[1]:.3f}")
    print(f"a top-1 class gives its tags from probability {top1:.2f}")
    print(f"tags that cannot be in a portrait: {int(absent.sum())}")
    print(f"portraits ({len(portraits)}) given such a tag at 0.5: {wrong_before:.1%}")
    print(f"portraits given such a tag tuned:   {wrong_after:.1%}")


if __name__ == "__main__":
    main()
